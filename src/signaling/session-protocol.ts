import type { ResumeRefusal } from './errors.js';

/**
 * The protocol's session fields (resume, offsets, ICE servers): additions to `joined` that the
 * contract's messages carry when resume and TURN are in use. Kept apart from `protocol.ts`, which
 * holds the contract's messages themselves.
 */

/** One entry of `joined.ice_servers`, ready for `new RTCPeerConnection({iceServers})`. */
export interface IceServerInfo {
  readonly urls: string | readonly string[];
  readonly username?: string;
  readonly credential?: string;
}

/** ICE servers for one user, and how many seconds their TURN credentials stay valid. */
export interface IceGrant {
  readonly iceServers: readonly IceServerInfo[];
  readonly ttl: number;
}

/** What `joined` carries besides the contract's fields when resume and ICE servers are on. */
export interface JoinedSessionFields {
  /** Opaque, single use: reconnect with `?resume=<token>&last_seq=<n>` to get this peer id back. */
  readonly resume_token?: string;
  /** Names the stream `seq` counts in; a new epoch means earlier `seq`s mean nothing any more. */
  readonly epoch?: string;
  /** True when this connection resumed the session (same peer id, the others saw nothing). */
  readonly resumed?: boolean;
  /** With `resumed`: true when every message after `last_seq` follows, false when some are lost. */
  readonly recovered?: boolean;
  /** Why the requested resume was refused; this `joined` is then a fresh join. */
  readonly resume_refused?: ResumeRefusal;
  readonly ice_servers?: readonly IceServerInfo[];
  /** Seconds the credentials in `ice_servers` stay valid. */
  readonly ice_servers_ttl?: number;
}

/** `,"seq":<n>}`, the ASCII end of one recipient's copy of a relayed frame (written in as latin1). */
export function seqTail(seq: number): string {
  return `,"seq":${seq}}`;
}

const utf8 = new TextEncoder();
let lastPayload: string | Uint8Array | null = null;
let lastHead: Uint8Array = new Uint8Array(0);

/**
 * A relayed frame without its closing brace, as bytes: the part every recipient shares, so adding a
 * per-recipient `seq` never re-serialises the SDP. The last frame's head is remembered, so a
 * broadcast converts its payload once however many recipients it has.
 */
export function relayHead(payload: string | Uint8Array): Uint8Array {
  if (payload === lastPayload) return lastHead;
  const bytes = typeof payload === 'string' ? utf8.encode(payload) : payload;
  lastPayload = payload;
  lastHead = bytes.subarray(0, bytes.lastIndexOf(0x7d));
  return lastHead;
}

/**
 * Close codes after which a peer is kept for a resume: the network or the server went away (1001
 * drain, 1006 cut, 1011-1014) or the client gave up on a silent connection (4000). A client's own
 * 1000 and the server's policy closes (4401, 4429, ...) end the session at once.
 */
export const RESUMABLE_CLOSE_CODES: ReadonlySet<number> = new Set([1001, 1006, 1011, 1012, 1013, 1014, 4000]);
