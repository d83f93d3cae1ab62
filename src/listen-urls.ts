import { networkInterfaces } from 'node:os';

/**
 * URLs a person can open for a server listening on `host`:`port`: for a wildcard host (`0.0.0.0`,
 * `::`) `localhost` first, then this machine's LAN addresses (IPv4, not loopback); otherwise the
 * host itself. `0.0.0.0` is where the server listens, not an address a browser can use.
 */
export function listenUrls(scheme: 'http' | 'https', host: string, port: number): string[] {
  const url = (h: string) => `${scheme}://${h.includes(':') ? `[${h}]` : h}:${port}/`;
  if (host !== '0.0.0.0' && host !== '::') return [url(host)];
  const lan = Object.values(networkInterfaces())
    .flat()
    .filter((a) => a !== undefined && a.family === 'IPv4' && !a.internal)
    .map((a) => url(a!.address));
  return [url('localhost'), ...lan];
}
