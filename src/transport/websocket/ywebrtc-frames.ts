import { ErrorCode } from '../../signaling/errors.js';

/**
 * The y-webrtc signaling protocol as its bin/server.js speaks it to the y-webrtc 10 client: JSON text
 * frames `subscribe`/`unsubscribe` (`topics`: an array of names), `publish` (`topic`, `data` relayed
 * as sent, an object or a base64 string with a room password) and `ping`, answered `pong`. Frames
 * that crash the reference server (`"topics":"x"`, non-JSON) are refused here with an `error` frame
 * shaped like the native protocol's, which the y-webrtc client ignores.
 */

/** Longest topic name (y-webrtc room names), in characters. */
export const MAX_TOPIC_LENGTH = 512;
/** Topics one subscribe or unsubscribe may name. */
export const MAX_TOPICS_PER_MESSAGE = 64;

/** One client frame, parsed. */
export type YwebrtcClientFrame =
  | { readonly kind: 'subscribe' | 'unsubscribe'; readonly topics: readonly string[] }
  | { readonly kind: 'publish'; readonly topic: string; readonly data: unknown }
  | { readonly kind: 'ping' }
  | { readonly kind: 'invalid'; readonly code: ErrorCode; readonly message: string };

function isTopic(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_TOPIC_LENGTH;
}

const TOPIC_RULE = `1 to ${MAX_TOPIC_LENGTH} characters`;

/** Parses one text frame. Never throws. */
export function parseYwebrtcFrame(text: string): YwebrtcClientFrame {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return { kind: 'invalid', code: ErrorCode.InvalidJson, message: 'message is not valid JSON' };
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data))
    return invalid('message must be a JSON object');
  const message = data as { type?: unknown; topics?: unknown; topic?: unknown; data?: unknown };
  switch (message.type) {
    case 'subscribe':
    case 'unsubscribe': {
      const { topics } = message;
      if (!Array.isArray(topics) || topics.length > MAX_TOPICS_PER_MESSAGE || !topics.every(isTopic))
        return invalid(
          `${message.type}: topics must be an array of at most ${MAX_TOPICS_PER_MESSAGE} names of ${TOPIC_RULE}`,
        );
      return { kind: message.type, topics: topics as string[] };
    }
    case 'publish':
      if (!isTopic(message.topic)) return invalid(`publish: topic must be a name of ${TOPIC_RULE}`);
      if (!('data' in message)) return invalid('publish: data is missing');
      return { kind: 'publish', topic: message.topic, data: message.data };
    case 'ping':
      return { kind: 'ping' };
    default:
      return invalid('unknown message type; expected one of subscribe, unsubscribe, publish, ping');
  }
}

function invalid(message: string): YwebrtcClientFrame {
  return { kind: 'invalid', code: ErrorCode.InvalidMessage, message };
}

/** The published frame every subscriber receives, before `withClients` adds the count. */
export function publishFrame(topic: string, data: unknown): string {
  return JSON.stringify({ type: 'publish', topic, data });
}

/** `frame` (a JSON object's text) with `"clients":<count>` added as its last field. */
export function withClients(frame: string, clients: number): string {
  return `${frame.slice(0, frame.lastIndexOf('}'))},"clients":${clients}}`;
}

/** The answer to `ping`. */
export const PONG_FRAME = '{"type":"pong"}';

/** A refusal of one frame; the connection stays open. */
export function errorFrame(code: ErrorCode, message: string): string {
  return JSON.stringify({ type: 'error', code, message });
}
