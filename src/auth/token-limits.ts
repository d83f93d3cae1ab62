import type { JWTPayload } from 'jose';
import { ROOM_ID_PATTERN } from '../signaling/room-id.js';

/** What a backend-minted token may do: `join` rooms, use the `admin` API, or both. */
export type TokenScope = 'join' | 'admin';

/**
 * The optional claims that limit a token (README, "Connecting your backend"). `scope` marks a token
 * minted by the application's backend: it needs no users-file entry and its role follows from the
 * scope (`admin` in it: role admin). `rooms` and `max_peers` limit any token that carries them.
 */
export interface TokenLimits {
  /** Null for a plain login token (its user must be in the users file). */
  readonly scope: readonly TokenScope[] | null;
  /** Room ids, or prefixes ending in `*`, the token may join; null: any room. */
  readonly rooms: readonly string[] | null;
  /** Cap of the rooms this token creates (the lower of it and `MAX_CONNECTIONS_PER_ROOM`). */
  readonly maxPeers: number | null;
}

/** Most entries a `rooms` claim may list. */
export const MAX_ROOM_PATTERNS = 100;
const SCOPES: readonly string[] = ['join', 'admin'];
const ROOM_PREFIX_PATTERN = /^[A-Za-z0-9_.-]{0,63}\*$/;

/**
 * The limits in a verified payload: null when it carries none of `scope`, `rooms`, `max_peers`;
 * `invalid` when one is malformed (the whole token is then refused, never half-applied).
 */
export function parseTokenLimits(payload: JWTPayload): TokenLimits | null | 'invalid' {
  const { scope, rooms, max_peers: maxPeers } = payload as Record<string, unknown>;
  if (scope === undefined && rooms === undefined && maxPeers === undefined) return null;
  let scopes: TokenScope[] | null = null;
  if (scope !== undefined) {
    if (typeof scope !== 'string') return 'invalid';
    const parts = scope.split(' ').filter(Boolean);
    if (parts.length === 0 || !parts.every((p) => SCOPES.includes(p))) return 'invalid';
    scopes = [...new Set(parts)] as TokenScope[];
  }
  if (
    rooms !== undefined &&
    !(
      Array.isArray(rooms) &&
      rooms.length <= MAX_ROOM_PATTERNS &&
      rooms.every((r) => typeof r === 'string' && (ROOM_ID_PATTERN.test(r) || ROOM_PREFIX_PATTERN.test(r)))
    )
  )
    return 'invalid';
  if (maxPeers !== undefined && !(Number.isInteger(maxPeers) && (maxPeers as number) >= 1)) return 'invalid';
  return {
    scope: scopes,
    rooms: rooms === undefined ? null : Object.freeze([...(rooms as string[])]),
    maxPeers: maxPeers === undefined ? null : (maxPeers as number),
  };
}

/** True when `rooms` (a token's claim; null: any) lets its bearer into `roomId`. */
export function roomAllowed(rooms: readonly string[] | null, roomId: string): boolean {
  if (rooms === null) return true;
  return rooms.some((r) => (r.endsWith('*') ? roomId.startsWith(r.slice(0, -1)) : r === roomId));
}

/** True when the token may join rooms: a plain token, or a scoped one whose scope has `join`. */
export function mayJoin(limits: TokenLimits | undefined): boolean {
  return !limits?.scope || limits.scope.includes('join');
}
