import { z } from 'zod';
import { ErrorCode } from './errors.js';
import type { JoinedSessionFields } from './session-protocol.js';

/**
 * The wire protocol (CONTRACT.md, "WebSocket"): every client and server message, one union on `type`.
 * Client messages are validated here and only the fields named by the contract survive parsing, so
 * nothing a client adds (extra fields, `__proto__`, a forged `from`) is ever relayed.
 */

/** Server-assigned peer ids; unguessable, unique within a room. */
export type PeerId = string;

const peerIdField = z.string().min(1).max(64);

const sessionDescription = <T extends 'offer' | 'answer'>(kind: T) =>
  z.object({ type: z.literal(kind), sdp: z.string() });

const iceCandidate = z.object({
  candidate: z.string(),
  sdpMid: z.string().nullable().optional(),
  sdpMLineIndex: z.number().int().min(0).max(65535).nullable().optional(),
  usernameFragment: z.string().nullable().optional(),
});

const offerMessage = z.object({
  type: z.literal('offer'),
  offer: sessionDescription('offer'),
  to: peerIdField.optional(),
});
const answerMessage = z.object({
  type: z.literal('answer'),
  answer: sessionDescription('answer'),
  to: peerIdField.optional(),
});
const iceCandidateMessage = z.object({
  type: z.literal('ice_candidate'),
  candidate: iceCandidate.nullable(),
  to: peerIdField.optional(),
});
const pingMessage = z.object({
  type: z.literal('ping'),
  ts: z.union([z.number(), z.string().max(64)]).optional(),
});
const authMessage = z.object({ type: z.literal('auth'), token: z.string().min(1).max(8192) });

/**
 * The reference definition of every client message. `parseClientMessage` checks relayable messages
 * by hand first (see `fastRelayable`) and asks this schema about everything else, so refusals and
 * their wording always come from here.
 */
export const clientMessageSchema = z.discriminatedUnion('type', [
  offerMessage,
  answerMessage,
  iceCandidateMessage,
  pingMessage,
  authMessage,
]);

/** The schema of each client message type, as `parseClientMessage` validates it (also documented in AsyncAPI). */
export const CLIENT_MESSAGE_SCHEMAS = {
  offer: offerMessage,
  answer: answerMessage,
  ice_candidate: iceCandidateMessage,
  ping: pingMessage,
  auth: authMessage,
} as const;

export type OfferMessage = z.infer<typeof offerMessage>;
export type AnswerMessage = z.infer<typeof answerMessage>;
export type IceCandidateMessage = z.infer<typeof iceCandidateMessage>;
export type PingMessage = z.infer<typeof pingMessage>;
export type AuthMessage = z.infer<typeof authMessage>;
/** Any message a client may send. */
export type ClientMessage = z.infer<typeof clientMessageSchema>;
/** The client messages that are relayed to other peers. */
export type RelayableMessage = OfferMessage | AnswerMessage | IceCandidateMessage;

/** A relayed copy: the validated message, `from` set by the server, `seq` (resume) its number for this recipient. */
export type RelayedMessage = RelayableMessage & { readonly from: PeerId; readonly seq?: number };

/** A peer already in the room, as `joined` lists it. */
export interface PeerInfo {
  readonly peer_id: PeerId;
  readonly username: string | null;
}

/** Any message the server sends. */
export type ServerMessage =
  | ({
      readonly type: 'joined';
      readonly room_id: string;
      readonly peer_id: PeerId;
      readonly peers: readonly PeerId[];
      /** The same peers with their usernames (null for anonymous peers), in the same order. */
      readonly peer_info: readonly PeerInfo[];
      /** Text an admin attached to the room, when there is some. */
      readonly metadata?: string;
    } & JoinedSessionFields)
  | { readonly type: 'peer_joined'; readonly peer_id: PeerId; readonly username?: string }
  | { readonly type: 'peer_left'; readonly peer_id: PeerId }
  | { readonly type: 'pong'; readonly ts?: number | string }
  | { readonly type: 'auth_ok'; readonly expires_in: number }
  | { readonly type: 'error'; readonly code: ErrorCode; readonly message: string }
  /** From the application's backend (Admin API), never from a peer. */
  | { readonly type: 'server'; readonly payload: unknown }
  | RelayedMessage;

/**
 * Result of parsing one client frame: the message, or the error to send back. `exact` is true when
 * the frame holds nothing but contract fields, so it may be relayed as sent (see `encodeRelay`).
 */
export type ParseResult =
  | { readonly ok: true; readonly message: ClientMessage; readonly exact: boolean }
  | { readonly ok: false; readonly code: ErrorCode; readonly message: string };

const KNOWN_TYPES = new Set(['offer', 'answer', 'ice_candidate', 'ping', 'auth']);

/** Parses one text frame. Never throws: bad JSON and schema failures come back as error results. */
export function parseClientMessage(text: string): ParseResult {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return { ok: false, code: ErrorCode.InvalidJson, message: 'message is not valid JSON' };
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    return { ok: false, code: ErrorCode.InvalidMessage, message: 'message must be a JSON object' };
  }
  const type = (data as { type?: unknown }).type;
  if (typeof type !== 'string' || !KNOWN_TYPES.has(type)) {
    return {
      ok: false,
      code: ErrorCode.InvalidMessage,
      message: `unknown message type; expected one of ${[...KNOWN_TYPES].join(', ')}`,
    };
  }
  const fast = fastRelayable(data as Record<string, unknown>, type);
  if (fast !== null) {
    return { ok: true, message: fast, exact: hasOnlyContractFields(data as Record<string, unknown>, type) };
  }
  const result = clientMessageSchema.safeParse(data);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue && issue.path.length > 0 ? issue.path.join('.') : type;
    return {
      ok: false,
      code: ErrorCode.InvalidMessage,
      message: `invalid ${type} message: ${where}: ${issue?.message ?? 'does not match the schema'}`.slice(
        0,
        200,
      ),
    };
  }
  return {
    ok: true,
    message: result.data,
    exact: hasOnlyContractFields(data as Record<string, unknown>, type),
  };
}

/**
 * The relayable messages checked by hand: zod's safeParse cost ~3 µs per message, a third of the
 * relay's whole budget. Returns exactly what `clientMessageSchema` would return (fresh objects with
 * the schema's keys in the schema's order, unknown keys dropped) when the message is valid, and null
 * whenever it is not or might not be: the caller then asks the schema, which accepts or refuses with
 * its own wording. So this can only make acceptance faster, never change what is accepted.
 * test/signaling/protocol.test.ts checks the two against each other on generated messages.
 */
function fastRelayable(data: Record<string, unknown>, type: string): RelayableMessage | null {
  const to = data['to'];
  if (to !== undefined && !isPeerId(to)) return null;
  switch (type) {
    case 'offer':
    case 'answer': {
      const description = data[type];
      if (!isObject(description) || description['type'] !== type) return null;
      const sdp = description['sdp'];
      if (typeof sdp !== 'string') return null;
      const payload = { type, sdp };
      if (type === 'offer') {
        return to === undefined
          ? { type, offer: payload as OfferMessage['offer'] }
          : { type, offer: payload as OfferMessage['offer'], to };
      }
      return to === undefined
        ? { type, answer: payload as AnswerMessage['answer'] }
        : { type, answer: payload as AnswerMessage['answer'], to };
    }
    case 'ice_candidate': {
      const raw = data['candidate'];
      let candidate: IceCandidateMessage['candidate'] = null;
      if (raw !== null) {
        if (!isObject(raw)) return null;
        candidate = fastCandidate(raw);
        if (candidate === null) return null;
      }
      return to === undefined ? { type, candidate } : { type, candidate, to };
    }
    default:
      return null;
  }
}

type Candidate = NonNullable<IceCandidateMessage['candidate']>;

function fastCandidate(raw: Record<string, unknown>): Candidate | null {
  const candidate = raw['candidate'];
  if (typeof candidate !== 'string') return null;
  const sdpMid = raw['sdpMid'];
  const sdpMLineIndex = raw['sdpMLineIndex'];
  const usernameFragment = raw['usernameFragment'];
  if (sdpMid !== undefined && sdpMid !== null && typeof sdpMid !== 'string') return null;
  if (
    sdpMLineIndex !== undefined &&
    sdpMLineIndex !== null &&
    !(
      typeof sdpMLineIndex === 'number' &&
      Number.isInteger(sdpMLineIndex) &&
      sdpMLineIndex >= 0 &&
      sdpMLineIndex <= 65535
    )
  )
    return null;
  if (usernameFragment !== undefined && usernameFragment !== null && typeof usernameFragment !== 'string')
    return null;
  // Keys in the schema's order and only when present, as zod builds its output.
  const out: { -readonly [K in keyof Candidate]: Candidate[K] } = { candidate };
  if (sdpMid !== undefined) out.sdpMid = sdpMid;
  if (sdpMLineIndex !== undefined) out.sdpMLineIndex = sdpMLineIndex;
  if (usernameFragment !== undefined) out.usernameFragment = usernameFragment;
  return out;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isPeerId(value: unknown): value is PeerId {
  return typeof value === 'string' && value.length >= 1 && value.length <= 64;
}

/** The fields a relayable message and its payload may carry; anything else must not be relayed. */
const RELAY_FIELDS: Readonly<
  Record<string, { readonly top: ReadonlySet<string>; readonly payload: ReadonlySet<string> }>
> = {
  offer: { top: new Set(['type', 'offer', 'to']), payload: new Set(['type', 'sdp']) },
  answer: { top: new Set(['type', 'answer', 'to']), payload: new Set(['type', 'sdp']) },
  ice_candidate: {
    top: new Set(['type', 'candidate', 'to']),
    payload: new Set(['candidate', 'sdpMid', 'sdpMLineIndex', 'usernameFragment']),
  },
};

function hasOnlyContractFields(data: Record<string, unknown>, type: string): boolean {
  const fields = RELAY_FIELDS[type];
  if (!fields) return false;
  for (const key in data) if (!fields.top.has(key)) return false;
  const payload = data[type === 'ice_candidate' ? 'candidate' : type];
  if (payload !== null && typeof payload === 'object') {
    for (const key in payload) if (!fields.payload.has(key)) return false;
  }
  return true;
}

/** A relayed message as it goes on the wire: JSON text, or its UTF-8 bytes. */
export type EncodedRelay = string | Uint8Array;
