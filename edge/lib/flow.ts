/**
 * The flow context: everything a request's handling needs, built once per request and passed
 * as one object (instead of long argument lists).
 */
import type { Context } from "@netlify/edge-functions";
import { getEnv } from "./env.ts";
import { type Intent, requestIntent } from "./intent.ts";

export interface Flow {
  request: Request;
  url: URL;
  /** upper case */
  method: string;
  context: Context;
  /** epoch seconds */
  now: number;
  /** the environment (Netlify.env on Netlify) */
  get: (name: string) => string | undefined;
  intent: Intent;
  /** the client's address as Netlify reports it (context.ip) */
  ip: string | undefined;
}

/** The flow of a request, or null when its URL cannot be read (a malformed request: 400). */
export function flowOf(request: Request, context: Context): Flow | null {
  let url: URL;
  try {
    url = new URL(request.url);
  } catch {
    return null;
  }
  return {
    request,
    url,
    method: request.method.toUpperCase(),
    context,
    now: Math.floor(Date.now() / 1000),
    get: getEnv,
    intent: requestIntent(request),
    ip: (context as { ip?: string }).ip,
  };
}

export function badRequest(): Response {
  return new Response("Bad request\n", {
    status: 400,
    headers: { "content-type": "text/plain; charset=UTF-8", "cache-control": "no-store" },
  });
}
