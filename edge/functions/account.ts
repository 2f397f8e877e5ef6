/**
 * Pages outside the meter (home, code-set and range indexes, search, help): for a signed-in
 * visitor the header shows the account and "Log out" instead of "Log in / Register". Without
 * a session cookie the static page passes through untouched (and stays cacheable).
 */
import type { Config, Context } from "@netlify/edge-functions";
import { personaliseChrome } from "./gate.ts";

// Routes: netlify.toml ([[edge_functions]] path = "/*" with the code pages, /auth/ and assets excluded).
export const config: Config = { onError: "bypass" };

export default function account(request: Request, context: Context): Promise<Response> {
  return personaliseChrome(request, context);
}
