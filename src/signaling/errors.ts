/**
 * The one catalog of wire error codes and close codes (CONTRACT.md). Codes never change once shipped.
 * A refusal of one message is an `ErrorCode` sent as `{type:"error"}`; the socket stays open.
 * A disconnect is a `CloseCode` with an ASCII reason of at most 123 bytes.
 */
export const ErrorCode = {
  InvalidJson: 'invalid_json',
  InvalidMessage: 'invalid_message',
  UnknownPeer: 'unknown_peer',
  RateLimited: 'rate_limited',
  /** y-webrtc: the topic has `YWEBRTC_MAX_SUBSCRIBERS_PER_TOPIC` subscribers (or the connection its maximum). */
  TopicFull: 'topic_full',
  /** y-webrtc: the broker could not take the subscription; the client may subscribe again later. */
  Unavailable: 'unavailable',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export const CloseCode = {
  Normal: 1000,
  GoingAway: 1001,
  MessageTooBig: 1009,
  InternalError: 1011,
  TryAgainLater: 1013,
  InvalidRoom: 4400,
  Unauthorized: 4401,
  /** Origin not allowed, or the token or the join hook does not allow this room. */
  OriginRejected: 4403,
  RoomFull: 4409,
  /** Removed by the application: an admin kicked the peer or closed its room (Admin API). */
  Kicked: 4410,
  RateLimited: 4429,
  /** The session was resumed on a newer connection; this one is stale (do not reconnect). */
  SessionResumed: 4411,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/**
 * Why a resume (`/ws/{room}?resume=<token>`) was refused. It comes back as `joined.resume_refused`
 * with a fresh join (new peer id), never as a close: the client is in the room either way.
 */
export const ResumeRefusal = {
  /** No such session in this room: never issued here, or ended long ago. */
  Unknown: 'resume_unknown',
  /** The grace period (`RESUME_GRACE_SECONDS`) passed before the client came back. */
  Expired: 'resume_expired',
  /** More was addressed to the peer while it was away than its buffer holds. */
  Overflow: 'resume_overflow',
  /** The token was already used (tokens are single use and rotated on every resume) or is forged. */
  TokenUsed: 'resume_token_used',
  /** The session belongs to another user. */
  WrongUser: 'resume_wrong_user',
  /** The old connection could not be taken over in time. */
  Busy: 'resume_busy',
} as const;
export type ResumeRefusal = (typeof ResumeRefusal)[keyof typeof ResumeRefusal];

/** Trims a close reason to the 123 bytes a WebSocket close frame allows, keeping it ASCII. */
export function closeReason(text: string): string {
  const ascii = text.replace(/[^\x20-\x7e]/g, '?');
  return ascii.length > 123 ? ascii.slice(0, 123) : ascii;
}
