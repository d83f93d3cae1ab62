/** Used when the server does not say which ICE servers to use. */
export const fallbackIceServers: readonly RTCIceServer[] = Object.freeze([
  { urls: 'stun:stun.l.google.com:19302' },
]);

/**
 * The ICE servers the server recommends (`GET {baseUrl}/api/ice-servers` → `{"iceServers":[...]}`),
 * so TURN credentials and STUN choices live in one place. A server with `REQUIRE_AUTH` answers only
 * with a valid `token` (sent as `Authorization: Bearer`). Resolves with `fallback` when the route is
 * missing, refuses or is unreachable; an empty list from the server is kept (host candidates only).
 */
export async function fetchIceServers(
  baseUrl: string,
  fetchImpl: typeof fetch = globalThis.fetch,
  fallback: readonly RTCIceServer[] = fallbackIceServers,
  token?: string | null,
): Promise<RTCIceServer[]> {
  return (await fetchIceConfig(baseUrl, { fetch: fetchImpl, token }))?.iceServers ?? [...fallback];
}

/** The ICE servers and how many seconds their TURN credentials stay valid. */
export interface IceConfig {
  readonly iceServers: RTCIceServer[];
  readonly ttl: number;
}

/**
 * `GET {baseUrl}/api/ice-servers` with the access token (the server requires one when it requires
 * auth): the ICE servers with fresh TURN credentials and their `ttl`. Null when it cannot say.
 */
export async function fetchIceConfig(
  baseUrl: string,
  options: { readonly fetch?: typeof fetch; readonly token?: string | null | undefined } = {},
): Promise<IceConfig | null> {
  try {
    const fetchImpl = options.fetch ?? globalThis.fetch;
    const headers: Record<string, string> = { accept: 'application/json' };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    const response = await fetchImpl(new URL('/api/ice-servers', baseUrl), { headers });
    if (!response.ok) return null;
    const body = (await response.json()) as { iceServers?: unknown; ttl?: unknown };
    if (!Array.isArray(body?.iceServers)) return null;
    return {
      iceServers: body.iceServers as RTCIceServer[],
      ttl: typeof body.ttl === 'number' ? body.ttl : 0,
    };
  } catch {
    return null;
  }
}
