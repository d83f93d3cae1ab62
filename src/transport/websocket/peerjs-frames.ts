/**
 * The PeerJS server protocol as peer 1.0 speaks it to the peerjs 1.5 client: what a client may send,
 * and every frame the server sends. Client frames are validated here and only the protocol's fields
 * survive (`type`, `dst`, `payload`); `src` is always set by the server, and types only the server
 * sends (`EXPIRE`, `OPEN`, ...) are refused, so no client can fake another peer's unavailability.
 */

/** Ids a client may choose (the client's own rule), at most `MAX_ID_LENGTH` characters. */
export const PEER_ID = /^[A-Za-z0-9]+(?:[ _-][A-Za-z0-9]+)*$/;
export const MAX_ID_LENGTH = 128;
/** PeerJS API keys: one namespace of ids each. */
export const PEERJS_KEY = /^[A-Za-z0-9_.-]{1,64}$/;
/** The client's own token is random text; ours may be a JWT, far longer. */
export const MAX_TOKEN_LENGTH = 8192;

/** The message types relayed from one peer to another. */
export type RelayType = 'OFFER' | 'ANSWER' | 'CANDIDATE' | 'LEAVE';
const RELAY_TYPES: ReadonlySet<string> = new Set<RelayType>(['OFFER', 'ANSWER', 'CANDIDATE', 'LEAVE']);
const SERVER_TYPES: ReadonlySet<string> = new Set(['OPEN', 'ERROR', 'ID-TAKEN', 'INVALID-KEY', 'EXPIRE']);

/** One client frame, parsed. */
export type PeerjsClientFrame =
  | { readonly kind: 'heartbeat' }
  | {
      readonly kind: 'relay';
      readonly type: RelayType;
      /** Null only for a LEAVE without a destination (nothing to relay). */
      readonly dst: string | null;
      /** False when `dst` can never be a peer id (the peer is unavailable at once). */
      readonly dstValid: boolean;
      readonly payload: unknown;
    }
  | { readonly kind: 'invalid'; readonly message: string };

/** True when `id` is an id a PeerJS client may hold. */
export function isPeerId(id: string): boolean {
  return id.length <= MAX_ID_LENGTH && PEER_ID.test(id);
}

/** Parses one text frame. Never throws. */
export function parsePeerjsFrame(text: string): PeerjsClientFrame {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return { kind: 'invalid', message: 'message is not valid JSON' };
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data))
    return { kind: 'invalid', message: 'message must be a JSON object' };
  const { type, dst, payload } = data as { type?: unknown; dst?: unknown; payload?: unknown };
  if (type === 'HEARTBEAT') return { kind: 'heartbeat' };
  if (typeof type !== 'string' || !RELAY_TYPES.has(type)) {
    const what =
      typeof type === 'string' && SERVER_TYPES.has(type) ? 'is sent by the server only' : 'is unknown';
    return {
      kind: 'invalid',
      message: `message type ${JSON.stringify(String(type)).slice(0, 40)} ${what}; expected HEARTBEAT, OFFER, ANSWER, CANDIDATE or LEAVE`,
    };
  }
  const relayType = type as RelayType;
  if (dst === undefined && relayType === 'LEAVE')
    return { kind: 'relay', type: relayType, dst: null, dstValid: false, payload: undefined };
  if (typeof dst !== 'string') return { kind: 'invalid', message: `${type}: dst must be a peer id` };
  // The receiving client reads payload.connectionId: anything but an object would break it.
  if (relayType !== 'LEAVE' && (typeof payload !== 'object' || payload === null || Array.isArray(payload)))
    return { kind: 'invalid', message: `${type}: payload must be a JSON object` };
  return { kind: 'relay', type: relayType, dst, dstValid: isPeerId(dst), payload };
}

/** `OPEN`: the id is this client's; the first frame after a successful connection. */
export const OPEN_FRAME = '{"type":"OPEN"}';

/** `ERROR`: the client reports `msg` as a server error; before a close it ends the client's Peer. */
export function errorFrame(msg: string): string {
  return JSON.stringify({ type: 'ERROR', payload: { msg } });
}

/** `ID-TAKEN`: another client holds the id (a different token). */
export const ID_TAKEN_FRAME = JSON.stringify({ type: 'ID-TAKEN', payload: { msg: 'ID is taken' } });

/** `EXPIRE`: nothing sent to `peer` could be delivered; the client reports the peer unavailable. */
export function expireFrame(peer: string, to: string): string {
  return JSON.stringify({ type: 'EXPIRE', src: peer, dst: to });
}

/** A relayed frame: the protocol's fields only, `src` set by the server. */
export function relayFrame(type: RelayType, src: string, dst: string, payload: unknown): string {
  return payload === undefined
    ? JSON.stringify({ type, src, dst })
    : JSON.stringify({ type, src, dst, payload });
}

const TAKEOVER_PREFIX = '{"type":"TAKEOVER"';

/**
 * Server-to-server only: a reconnecting client asks the connection holding its id to give it up,
 * proving it holds the same token by `claim` (a hash of key, id and token). Clients can never send
 * one: every relayed frame is built by `relayFrame` from the types above.
 */
export function takeoverFrame(claim: string): string {
  return JSON.stringify({ type: 'TAKEOVER', claim });
}

/** The claim of a takeover frame, or null when `frame` is an ordinary relay. */
export function takeoverClaim(frame: string): string | null {
  if (!frame.startsWith(TAKEOVER_PREFIX)) return null;
  try {
    const { claim } = JSON.parse(frame) as { claim?: unknown };
    return typeof claim === 'string' ? claim : null;
  } catch {
    return null;
  }
}
