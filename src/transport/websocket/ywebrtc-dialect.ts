import type { IncomingMessage } from 'node:http';
import type { Logger } from 'pino';
import type { RawData } from 'ws';
import { bearerToken } from '../../auth/tokens.js';
import type { Config } from '../../config/config.js';
import type { SecurityEvents } from '../../security/security-events.js';
import { dialectRoomId } from '../../signaling/dialect-rooms.js';
import { ErrorCode } from '../../signaling/errors.js';
import type { Peer } from '../../signaling/peer.js';
import type { EncodedRelay } from '../../signaling/protocol.js';
import type { RoomId } from '../../signaling/room-id.js';
import type { SignalingHub } from '../../signaling/signaling-hub.js';
import type { ClientConnection } from './client-connection.js';
import type { Dialect, DialectRequest, DialectSession } from './dialect.js';
import { errorFrame, PONG_FRAME, parseYwebrtcFrame, publishFrame, withClients } from './ywebrtc-frames.js';

/** Topics one connection may be subscribed to at once (a y-webrtc client subscribes one per room). */
export const MAX_TOPICS_PER_CONNECTION = 64;

/** What the y-webrtc dialect needs; built by `compatDialects`. */
export interface YwebrtcDialectDeps {
  /** `YWEBRTC_PATH`: the signaling URL's path. */
  readonly path: string;
  readonly config: Pick<Config, 'ywebrtcMaxSubscribersPerTopic'>;
  readonly hub: SignalingHub;
  readonly events: SecurityEvents;
  readonly log: Logger;
  readonly randomId: () => string;
}

/**
 * The y-webrtc signaling protocol at `YWEBRTC_PATH`. A topic is a room of the hub
 * (`y-webrtc:<topic>`) and each subscription one peer of it, so topics span the fleet and are capped
 * by `YWEBRTC_MAX_SUBSCRIBERS_PER_TOPIC`. y-webrtc uses the signaling URL verbatim, so our JWT rides
 * in its query string (`?token=`); `Authorization: Bearer` works for other clients.
 */
export class YwebrtcDialect implements Dialect {
  readonly #deps: YwebrtcDialectDeps;

  constructor(deps: YwebrtcDialectDeps) {
    this.#deps = deps;
  }

  serves(path: string): boolean {
    return path === this.#deps.path || path === `${this.#deps.path}/`;
  }

  token(req: IncomingMessage): string | null {
    const header = bearerToken(req.headers.authorization);
    if (header !== null) return header;
    const url = req.url ?? '';
    const at = url.indexOf('?');
    return at === -1 ? null : new URLSearchParams(url.slice(at + 1)).get('token') || null;
  }

  request(): DialectRequest {
    return {
      ok: true,
      open: async (connection) => {
        const tag = this.#deps.randomId();
        connection.peerId = tag;
        this.#deps.log.info(
          { ip: connection.client.ip, user: connection.username, peer: tag },
          'y-webrtc client connected',
        );
        return new YwebrtcSession(this.#deps, connection, tag);
      },
    };
  }
}

interface Subscription {
  readonly roomId: RoomId;
  readonly peer: Peer;
  /** Settles true once the peer is in the room, false when the join was refused. */
  readonly joined: Promise<boolean>;
}

/**
 * One y-webrtc connection. `publish` reaches every subscriber of the topic on every instance, the
 * sender included (the client filters by the `from` inside `data`), with `clients` set to the
 * topic's subscriber count; the publisher need not be subscribed. Refusals are `error` frames.
 */
class YwebrtcSession implements DialectSession {
  readonly #deps: YwebrtcDialectDeps;
  readonly #connection: ClientConnection;
  /** The `from` of this connection's publishes: no subscription's id, so every subscriber gets them. */
  readonly #tag: string;
  readonly #topics = new Map<string, Subscription>();
  /**
   * Publishes held while a subscription of this connection is still joining, in order. A y-webrtc
   * client publishes its `announce` right behind its `subscribe`: the answers it provokes must find
   * this instance listening to the topic already, or they are lost (a fleet's subscribe is a Redis
   * round trip) and the two browsers never connect.
   */
  #held: Array<() => void> | null = null;
  #joining = 0;

  constructor(deps: YwebrtcDialectDeps, connection: ClientConnection, tag: string) {
    this.#deps = deps;
    this.#connection = connection;
    this.#tag = tag;
  }

  receive(data: RawData, isBinary: boolean): void {
    if (isBinary) {
      this.#refuse(ErrorCode.InvalidMessage, 'binary frames are not accepted; send JSON text');
      return;
    }
    const frame = parseYwebrtcFrame(data.toString());
    switch (frame.kind) {
      case 'invalid':
        this.#refuse(frame.code, frame.message);
        return;
      case 'subscribe':
        for (const topic of frame.topics) this.#subscribe(topic);
        return;
      case 'unsubscribe':
        for (const topic of frame.topics) this.#unsubscribe(topic);
        return;
      case 'publish': {
        const publish = () =>
          this.#deps.hub.relayEncoded(
            dialectRoomId('y-webrtc', frame.topic),
            this.#tag,
            publishFrame(frame.topic, frame.data),
          );
        if (this.#held !== null) this.#held.push(publish);
        else publish();
        return;
      }
      case 'ping':
        this.#connection.send(PONG_FRAME);
        return;
    }
  }

  rateLimited(): void {
    this.#connection.send(errorFrame(ErrorCode.RateLimited, 'rate limit exceeded; message dropped'));
  }

  closed(code: number): void {
    const c = this.#connection;
    this.#deps.log.info(
      { ip: c.client.ip, user: c.username, peer: this.#tag, topics: this.#topics.size, code },
      'y-webrtc client left',
    );
    for (const topic of [...this.#topics.keys()]) this.#unsubscribe(topic);
  }

  #subscribe(topic: string): void {
    if (this.#topics.has(topic)) return;
    if (this.#topics.size >= MAX_TOPICS_PER_CONNECTION) {
      this.#send(
        errorFrame(
          ErrorCode.TopicFull,
          `a connection may subscribe to at most ${MAX_TOPICS_PER_CONNECTION} topics`,
        ),
      );
      return;
    }
    const { hub, config, randomId } = this.#deps;
    const connection = this.#connection;
    const roomId = dialectRoomId('y-webrtc', topic);
    const peer: Peer = {
      id: randomId(),
      username: connection.username,
      send: () => {},
      sendEncoded: (payload) => this.#deliver(roomId, payload),
      close: (code, reason) => connection.close(code, reason),
    };
    const joined = hub
      .join(roomId, peer, { maxPeers: config.ywebrtcMaxSubscribersPerTopic })
      .then((result) => {
        if (result.ok) return true;
        if (this.#topics.get(topic)?.peer === peer) this.#topics.delete(topic);
        if (result.reason === 'room_full') {
          this.#deps.events.emit('room_full', { ...connection.eventFields(), room: roomId });
          this.#send(errorFrame(ErrorCode.TopicFull, `topic ${JSON.stringify(topic.slice(0, 64))} is full`));
        } else {
          this.#send(errorFrame(ErrorCode.Unavailable, 'topics unavailable, subscribe again later'));
        }
        return false;
      });
    this.#topics.set(topic, { roomId, peer, joined });
    this.#joining += 1;
    this.#held ??= [];
    const settled = () => {
      this.#joining -= 1;
      if (this.#joining > 0 || this.#held === null) return;
      const held = this.#held;
      this.#held = null;
      for (const publish of held) publish();
    };
    void joined.then(settled, settled);
  }

  #unsubscribe(topic: string): void {
    const subscription = this.#topics.get(topic);
    if (subscription === undefined) return;
    this.#topics.delete(topic);
    const { roomId, peer, joined } = subscription;
    // A leave before the join has settled would find nothing to remove.
    void joined.then((ok) => (ok ? this.#deps.hub.leave(roomId, peer) : undefined));
  }

  #deliver(roomId: RoomId, payload: EncodedRelay): void {
    const text = typeof payload === 'string' ? payload : textDecoder.decode(payload);
    this.#send(withClients(text, this.#deps.hub.memberCount(roomId)));
  }

  #send(frame: string): void {
    this.#connection.send(frame);
  }

  #refuse(code: ErrorCode, message: string): void {
    this.#deps.events.emit('invalid_message', { ...this.#connection.eventFields(), reason: code });
    this.#send(errorFrame(code, message));
  }
}

const textDecoder = new TextDecoder();
