/**
 * Reading cookies and the one Set-Cookie builder. Every cookie of the site is a `__Host-`
 * cookie: `Path=/; HttpOnly; Secure; SameSite=Lax`, no Domain (so it is sent to this host only).
 */

/** Every value of cookie `name` in a Cookie header, in order. */
export function cookieValues(header: string | null, name: string): string[] {
  if (!header || !header.includes(name)) return [];
  const values: string[] = [];
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) values.push(part.slice(eq + 1).trim());
  }
  return values;
}

/** `Set-Cookie` for `name=value` kept for `maxAgeSeconds` (0 deletes it). */
export function setCookie(name: string, value: string, maxAgeSeconds: number): string {
  const age = Math.max(0, Math.floor(maxAgeSeconds));
  return `${name}=${value}; Path=/; Max-Age=${age}; HttpOnly; Secure; SameSite=Lax`;
}

export function clearCookie(name: string): string {
  return setCookie(name, "", 0);
}
