import type { IncomingMessage } from 'node:http';
import { BlockList, isIPv4, isIPv6 } from 'node:net';
import type { TrustProxy } from '../config/config.js';

/** A client as the limits see it: its address, and the key its limits are counted under. */
export interface ClientAddress {
  readonly ip: string;
  /** See `limitKey`: the IPv4 address, or the IPv6 /64. */
  readonly key: string;
}

/**
 * Resolves which IP a request counts as. Without `TRUST_PROXY` it is the socket's address, whatever
 * `X-Forwarded-For` says; with it, the address the trusted proxy chain reports.
 */
export class ClientAddressResolver {
  readonly #trust: TrustProxy;
  readonly #trusted: BlockList | null;

  constructor(trust: TrustProxy) {
    this.#trust = trust;
    this.#trusted = trust.kind === 'addresses' ? buildBlockList(trust.addresses) : null;
  }

  /** The client of an HTTP request or WebSocket upgrade. */
  fromRequest(req: IncomingMessage): ClientAddress {
    const ip = this.resolve(req.socket.remoteAddress, req.headers['x-forwarded-for']);
    return { ip, key: limitKey(ip) };
  }

  /**
   * The client address given the socket peer and `X-Forwarded-For`. Entries are read from the right
   * (nearest proxy first); a port or brackets a proxy appended (`203.0.113.7:51234`,
   * `[2001:db8::1]:443`) are stripped, and the chain ends at the first entry that still is not an IP
   * address, so an attacker cannot get garbage skipped to bring their own entry within reach.
   */
  resolve(socketAddress: string | undefined, forwardedFor: string | string[] | undefined): string {
    const direct = normalizeIp(socketAddress ?? '');
    if (this.#trust.kind === 'none' || forwardedFor === undefined) return direct;
    const entries = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor).split(',');
    // Nearest first: the socket peer, then each X-Forwarded-For entry from the right.
    const chain = [direct];
    for (let i = entries.length - 1; i >= 0; i -= 1) {
      const ip = forwardedAddress(entries[i]!);
      if (ip === null) break;
      chain.push(ip);
    }
    switch (this.#trust.kind) {
      case 'hops':
        return chain[Math.min(this.#trust.hops, chain.length - 1)] ?? direct;
      case 'addresses': {
        let i = 0;
        while (i < chain.length - 1 && isInList(this.#trusted!, chain[i]!)) i += 1;
        return chain[i] ?? direct;
      }
    }
  }
}

/** One `X-Forwarded-For` entry as an address (port and brackets stripped), or null when it is none. */
export function forwardedAddress(entry: string): string | null {
  let text = entry.trim();
  const bracketed = /^\[([0-9A-Fa-f:.]+)\](?::\d{1,5})?$/.exec(text);
  if (bracketed) text = bracketed[1]!;
  else if (/^\d+\.\d+\.\d+\.\d+:\d{1,5}$/.test(text)) text = text.slice(0, text.lastIndexOf(':'));
  const ip = normalizeIp(text);
  return isIPv4(ip) || isIPv6(ip) ? ip : null;
}

function buildBlockList(addresses: readonly string[]): BlockList {
  const list = new BlockList();
  for (const entry of addresses) {
    const [address = '', prefix] = entry.split('/');
    const ip = normalizeIp(address);
    const type = isIPv6(ip) ? 'ipv6' : 'ipv4';
    if (prefix === undefined) list.addAddress(ip, type);
    else list.addSubnet(ip, Number(prefix), type);
  }
  return list;
}

function isInList(list: BlockList, ip: string): boolean {
  return list.check(ip, isIPv6(ip) ? 'ipv6' : 'ipv4');
}

/** `::ffff:1.2.3.4` → `1.2.3.4`; anything else unchanged. */
export function normalizeIp(ip: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  return mapped ? mapped[1]! : ip;
}

/**
 * The key a client's limits are counted under: the IPv4 address, or the /64 network of an IPv6
 * address (one subscriber usually holds a whole /64, so counting single v6 addresses is no limit).
 */
export function limitKey(ip: string): string {
  if (!isIPv6(ip)) return ip;
  return `${expandIpv6(ip).slice(0, 4).join(':')}::/64`;
}

function expandIpv6(ip: string): string[] {
  const [head = '', tail = ''] = ip.split('%')[0]!.split('::');
  const left = head ? head.split(':') : [];
  const right = ip.includes('::') && tail ? tail.split(':') : [];
  const missing = 8 - left.length - right.length;
  const groups = ip.includes('::') ? [...left, ...Array(Math.max(0, missing)).fill('0'), ...right] : left;
  return groups.map((g) => (g.includes('.') ? g : Number.parseInt(g || '0', 16).toString(16)));
}
