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

  resolve(socketAddress: string | undefined, forwardedFor: string | string[] | undefined): string {
    const direct = normalizeIp(socketAddress ?? '');
    if (this.#trust.kind === 'none' || forwardedFor === undefined) return direct;
    const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor)
      .split(',')
      .map((s) => normalizeIp(s.trim()))
      .filter((s) => isIPv4(s) || isIPv6(s));
    // Nearest first: the socket peer, then each X-Forwarded-For entry from the right.
    const chain = [direct, ...hops.reverse()];
    switch (this.#trust.kind) {
      case 'all':
        return chain[chain.length - 1] ?? direct;
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
