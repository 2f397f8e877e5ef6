/**
 * The view meter at the edge: code pages are published gated; this function adds what the
 * visitor's meter allows (opens the sealed sections) and says what happened in the banner.
 * See lib/handlers/code_page.ts. `onError: "bypass"` makes Netlify serve the static, gated page
 * if the function itself fails.
 */
import type { Config, Context } from "@netlify/edge-functions";
import { badRequest, flowOf } from "../lib/flow.ts";
import { codePage } from "../lib/handlers/code_page.ts";

// Routes: netlify.toml ([[edge_functions]] path = "/cpt/*", "/hcpcs/*", "/icd-10-cm/*").
export const config: Config = { onError: "bypass" };

export default function gate(request: Request, context: Context): Promise<Response> {
  const flow = flowOf(request, context);
  return flow ? codePage(flow) : Promise.resolve(badRequest());
}
