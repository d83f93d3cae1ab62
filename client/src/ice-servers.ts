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
  token: string | null = null,
): Promise<RTCIceServer[]> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  try {
    const response = await fetchImpl(new URL('/api/ice-servers', baseUrl), { headers });
    if (!response.ok) return [...fallback];
    const body = (await response.json()) as { iceServers?: unknown };
    return Array.isArray(body?.iceServers) ? (body.iceServers as RTCIceServer[]) : [...fallback];
  } catch {
    return [...fallback];
  }
}
