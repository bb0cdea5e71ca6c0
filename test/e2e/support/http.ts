/** A response with its body parsed as JSON when it is JSON. */
export interface ApiResponse<Body = any> {
  status: number;
  headers: Headers;
  body: Body;
  elapsedMs: number;
}

/** Calls the gateway; JSON bodies in and out. */
export async function api<Body = any>(
  baseUrl: string,
  method: string,
  path: string,
  options: { body?: unknown; headers?: Record<string, string>; rawBody?: string } = {},
): Promise<ApiResponse<Body>> {
  const startedAt = performance.now();
  const headers: Record<string, string> = { ...options.headers };
  let body: string | undefined;
  if (options.rawBody !== undefined) body = options.rawBody;
  else if (options.body !== undefined) body = JSON.stringify(options.body);
  if (body !== undefined && !headers['content-type']) headers['content-type'] = 'application/json';
  const response = await fetch(`${baseUrl}${path}`, { method, headers, body, signal: AbortSignal.timeout(15_000) });
  const text = await response.text();
  let parsed: unknown = text;
  if ((response.headers.get('content-type') ?? '').includes('json') && text) parsed = JSON.parse(text);
  return {
    status: response.status,
    headers: response.headers,
    body: parsed as Body,
    elapsedMs: performance.now() - startedAt,
  };
}

/** An email address no other test run uses. */
export function uniqueEmail(tag = 'user'): string {
  return `${tag}.${Date.now().toString(36)}.${Math.random().toString(36).slice(2, 8)}@example.test`;
}
