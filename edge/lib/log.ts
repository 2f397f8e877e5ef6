/** Operator-facing log lines, each distinct message once per isolate (edge logs are per request otherwise). */
const logged = new Set<string>();

export function logOnce(scope: string, message: string): void {
  const line = `codepages ${scope}: ${message}`;
  if (logged.has(line)) return;
  if (logged.size > 1000) logged.clear();
  logged.add(line);
  console.error(line);
}

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
