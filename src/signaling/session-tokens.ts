import { hash } from 'node:crypto';
import type { PeerId } from './protocol.js';
import { randomBase64url } from './random-pool.js';

// Kept apart from session-protocol.ts, whose types the client package re-declares (type-only views
// of the modules it imports): a runtime import there has no counterpart in those views.

/** A `resume_token`: the peer id and 192 random bits; only its sha256 is ever stored. */
export function newToken(peerId: PeerId): { value: string; hash: string } {
  const value = `${peerId}.${randomBase64url(24)}`;
  return { value, hash: hashToken(value) };
}

function hashToken(token: string): string {
  return hash('sha256', token, 'hex');
}

/** The peer id a token names and the token's hash, or null when it cannot be a token. */
export function parseToken(token: string): { peerId: PeerId; hash: string } | null {
  const dot = token.lastIndexOf('.');
  if (dot < 1 || dot > 64 || token.length > 200) return null;
  return { peerId: token.slice(0, dot), hash: hashToken(token) };
}
