/**
 * Pages outside the meter (home, code-set and range indexes, search, help): for a signed-in
 * visitor the header shows the account and "Log out". See lib/handlers/chrome.ts.
 */
import type { Config, Context } from "@netlify/edge-functions";
import { badRequest, flowOf } from "../lib/flow.ts";
import { chromePage } from "../lib/handlers/chrome.ts";

// Routes: netlify.toml ([[edge_functions]] path = "/*" with the code pages, /auth/ and assets excluded).
export const config: Config = { onError: "bypass" };

export default function account(request: Request, context: Context): Promise<Response> {
  const flow = flowOf(request, context);
  return flow ? chromePage(flow) : Promise.resolve(badRequest());
}
