/**
 * Logging in and out at the edge (OpenID Connect, PKCE, server-side sessions). See
 * lib/handlers/auth.ts for the routes.
 */
import type { Config, Context } from "@netlify/edge-functions";
import { badRequest, flowOf } from "../lib/flow.ts";
import { authRoute } from "../lib/handlers/auth.ts";

// Routes: netlify.toml ([[edge_functions]] path = "/auth/*").
export const config: Config = {};

export default function auth(request: Request, context: Context): Promise<Response> {
  const flow = flowOf(request, context);
  return flow ? authRoute(flow) : Promise.resolve(badRequest());
}
