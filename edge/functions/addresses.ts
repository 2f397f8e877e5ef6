/**
 * Forgiving addresses: any spelling of a code → one 301 to its page; unknown codes → the 404
 * page with the nearest existing codes; `/search/?q=<exact code>` → 303 to the code.
 * Declared first in netlify.toml (it runs before the gate); see lib/handlers/addresses.ts.
 */
import type { Config, Context } from "@netlify/edge-functions";
import { badRequest, flowOf } from "../lib/flow.ts";
import { addresses } from "../lib/handlers/addresses.ts";

// Routes: netlify.toml ([[edge_functions]] path = "/*", assets and shards excluded).
export const config: Config = { onError: "bypass" };

export default async function (request: Request, context: Context): Promise<Response | undefined> {
  const flow = flowOf(request, context);
  if (!flow) return badRequest();
  return await addresses(flow);
}
