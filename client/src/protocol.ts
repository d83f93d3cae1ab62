/**
 * The wire protocol as the client sees it. The message types are the server's own (one protocol
 * module, `src/signaling/protocol.ts`), imported as types only so the browser bundle carries no
 * server code.
 */
import type { ClientMessage, PeerId, ServerMessage } from '../../src/signaling/protocol.js';

export type { ClientMessage, PeerId, ServerMessage };

/** Every `type` the server sends. */
export type ServerMessageType = ServerMessage['type'];

/** The server message whose `type` is `T`. */
export type ServerMessageOf<T extends ServerMessageType> = Extract<ServerMessage, { type: T }>;

/** A session description as it travels on the wire. */
export interface WireDescription {
  readonly type: 'offer' | 'answer';
  readonly sdp: string;
}

/** An ICE candidate as it travels on the wire; `null` on the wire means end of candidates. */
export interface WireCandidate {
  readonly candidate: string;
  readonly sdpMid?: string | null;
  readonly sdpMLineIndex?: number | null;
  readonly usernameFragment?: string | null;
}

/**
 * The WebSocket URL for `room` on the server at `baseUrl` (http, https, ws or wss; a path prefix is
 * kept): `ws(s)://host/prefix/ws/{room}`, with `?token=...` when a token is given (browsers cannot
 * set headers on a WebSocket), or `?auth=message` when the token follows as the first message
 * (`tokenFollows`), which keeps it out of URLs and proxy logs (`SignalingClient` does the latter);
 * and `&resume=...&last_seq=...` to resume a session.
 */
export function signalingUrl(
  baseUrl: string,
  room: string,
  token?: string | null,
  resume?: { readonly token: string; readonly lastSeq: number } | null,
  tokenFollows = false,
): string {
  const url = new URL(baseUrl);
  if (url.protocol === 'http:') url.protocol = 'ws:';
  else if (url.protocol === 'https:') url.protocol = 'wss:';
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/ws/${encodeURIComponent(room)}`;
  url.search = '';
  url.hash = '';
  if (token) url.searchParams.set('token', token);
  else if (tokenFollows) url.searchParams.set('auth', 'message');
  if (resume) {
    url.searchParams.set('resume', resume.token);
    url.searchParams.set('last_seq', String(resume.lastSeq));
  }
  return url.toString();
}

/** Reads one server frame; `null` when it is not a JSON object with a string `type`. */
export function parseServerMessage(text: string): ServerMessage | null {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof data !== 'object' || data === null || typeof (data as { type?: unknown }).type !== 'string')
    return null;
  // The server is trusted to send what the contract says; only the envelope is checked.
  return data as ServerMessage;
}
