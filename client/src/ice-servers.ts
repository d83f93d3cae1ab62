/** Used when the server does not say which ICE servers to use. */
export const fallbackIceServers: readonly RTCIceServer[] = Object.freeze([
  { urls: 'stun:stun.l.google.com:19302' },
]);

/**
 * The ICE servers the server recommends (`GET {baseUrl}/api/ice-servers` → `{"iceServers":[...]}`),
 * so TURN credentials and STUN choices live in one place. Resolves with `fallback` when the route is
 * missing or unreachable; an empty list from the server is kept (host candidates only).
 */
export async function fetchIceServers(
  baseUrl: string,
  fetchImpl: typeof fetch = globalThis.fetch,
  fallback: readonly RTCIceServer[] = fallbackIceServers,
): Promise<RTCIceServer[]> {
  try {
    const response = await fetchImpl(new URL('/api/ice-servers', baseUrl), {
      headers: { accept: 'application/json' },
    });
    if (!response.ok) return [...fallback];
    const body = (await response.json()) as { iceServers?: unknown };
    return Array.isArray(body?.iceServers) ? (body.iceServers as RTCIceServer[]) : [...fallback];
  } catch {
    return [...fallback];
  }
}
