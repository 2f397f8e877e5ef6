/**
 * Environment variables: `Netlify.env` on Netlify (the documented API for edge functions),
 * `Deno.env` elsewhere (local preview, tests). A missing variable, or no permission to read
 * it, is `undefined`.
 */

type EnvReader = { get(name: string): string | undefined };

export function getEnv(name: string): string | undefined {
  const netlify = (globalThis as { Netlify?: { env?: EnvReader } }).Netlify;
  if (netlify?.env && typeof netlify.env.get === "function") {
    const value = netlify.env.get(name);
    return value === null ? undefined : value;
  }
  try {
    return Deno.env.get(name);
  } catch {
    return undefined; // no --allow-env
  }
}
