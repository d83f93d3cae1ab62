import { type Clock, systemClock, type TimerHandle } from './clock.js';
import { Emitter } from './emitter.js';
import { fetchIceConfig } from './ice-servers.js';
import {
  type ClientMessage,
  type PeerId,
  parseServerMessage,
  type ServerMessage,
  type ServerMessageOf,
  type ServerMessageType,
  signalingUrl,
  type WireCandidate,
  type WireDescription,
} from './protocol.js';
import { type BackoffOptions, backoffDelay, classifyClose, defaultBackoff } from './reconnect-policy.js';
import { SessionResume } from './session-resume.js';
import { type GetToken, jwtExpiresIn, type TokenGrant, toGrant } from './token.js';
import { type Transport, type TransportFactory, webSocketTransport } from './transport.js';

/**
 * Where the client is:
 * `idle` (not started) → `connecting` → `open` (socket up, waiting for `joined`) → `joined`;
 * `reconnecting` while waiting to retry or retrying; `closed` after `disconnect()` or a final close.
 */
export type ConnectionState = 'idle' | 'connecting' | 'open' | 'joined' | 'reconnecting' | 'closed';

/** One event per server message type, named after it (`joined`, `offer`, `error`, ...). */
export type ServerMessageEvents = { [K in ServerMessageType]: ServerMessageOf<K> };

/** Events about the connection itself. */
export interface ConnectionEvents {
  /** Every server message, before its typed event. */
  message: ServerMessage;
  /** Every change of `state`. */
  state: { readonly state: ConnectionState; readonly previous: ConnectionState };
  /** The socket opened (the `joined` message follows). */
  open: { readonly attempt: number };
  /** The socket closed; `willReconnect` says whether a `reconnecting` event follows. */
  close: { readonly code: number; readonly reason: string; readonly willReconnect: boolean };
  /** A reconnect is scheduled `delayMs` from now; `attempt` counts from 1 since the last join. */
  reconnecting: { readonly attempt: number; readonly delayMs: number; readonly code: number };
  /**
   * ICE servers to use from now on: from `joined`, then refreshed from `/api/ice-servers` before their
   * TURN credentials expire (`ttl` seconds).
   */
  ice_servers: { readonly iceServers: RTCIceServer[]; readonly ttl: number };
  /** Something went wrong on the client side (never a server `error` message, which has its own event). */
  client_error: { readonly error: unknown; readonly during: 'token' | 'transport' | 'parse' };
}

/** Every event a `SignalingClient` emits. */
export type SignalingEvents = ServerMessageEvents & ConnectionEvents;

/** How to reach the server and how to behave when things go wrong. */
export interface SignalingClientOptions {
  /** The server: `https://host:port` (or http, ws, wss); `/ws/{room}` is appended. */
  readonly url: string;
  /** The room to join (1 to 64 characters of `A-Z a-z 0-9 _ - .`). */
  readonly room: string;
  /** A token to start with. */
  readonly token?: string | TokenGrant;
  /** Supplies fresh tokens: before connecting without one, before expiry, and after a 4401 close. */
  readonly getToken?: GetToken;
  /** Opens connections; defaults to the global WebSocket. */
  readonly transport?: TransportFactory;
  readonly clock?: Clock;
  /** Random numbers in [0, 1) for jitter. */
  readonly random?: () => number;
  /** Send a `ping` this often while connected; 0 turns the heartbeat off. Default 15 s. */
  readonly heartbeatIntervalMs?: number;
  /** A `ping` unanswered this long means the connection is dead. Default 10 s. */
  readonly heartbeatTimeoutMs?: number;
  /** Refresh the token this long before it expires (at most a fifth of its remaining life). Default 60 s. */
  readonly refreshMarginMs?: number;
  /** Backoff settings, or `false` to never reconnect. */
  readonly reconnect?: Partial<BackoffOptions> | false;
  /**
   * Send the token as `?token=` in the URL (servers that predate the first-message token).
   * Default false: the token goes as the first message, `{"type":"auth","token"}`, so it never
   * appears in a URL that proxies and servers log.
   */
  readonly tokenInUrl?: boolean;
  /** Resume the session (same peer id, missed messages replayed) after a drop. Default true. */
  readonly resume?: boolean;
  /** Fetches fresh ICE servers (`GET /api/ice-servers`); injectable for tests. Default `fetch`. */
  readonly fetch?: typeof fetch;
}

type TimerName = 'heartbeat' | 'pong' | 'refresh' | 'reconnect' | 'ice';

const HEARTBEAT_CLOSE_CODE = 4000;
const REFRESH_RETRY_MS = 10_000;
/** ICE servers are refreshed when this share of their credentials' lifetime has passed. */
const ICE_REFRESH_SHARE = 0.8;

/**
 * One participant's signaling connection to one room. It joins, re-emits every server message as a
 * typed event, keeps the connection alive with `ping`s, refreshes the token with `auth` before it
 * expires, and reconnects with jittered exponential backoff unless the close code says retrying is
 * pointless. A reconnect after a drop or a drain (1001) resumes the session when the server still
 * holds it: same peer id, `joined` with `resumed: true`, then exactly the relayed messages missed
 * after the last `seq` processed. When the resume is refused (`joined.resume_refused`) it is a new
 * join with a new peer id. ICE servers from `joined` are refreshed before their credentials expire.
 *
 * Messages are sent only while the socket is open; `send` returns false otherwise and nothing is
 * queued, because offers and candidates are meaningless once the peer ids they target are gone.
 */
export class SignalingClient extends Emitter<SignalingEvents> {
  readonly url: string;
  readonly room: string;
  readonly #getToken: GetToken | undefined;
  readonly #transportFactory: TransportFactory;
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #heartbeatIntervalMs: number;
  readonly #heartbeatTimeoutMs: number;
  readonly #refreshMarginMs: number;
  readonly #backoff: BackoffOptions | null;
  readonly #tokenInUrl: boolean;
  readonly #resume: SessionResume | null;
  readonly #fetch: typeof fetch | undefined;
  #iceServers: RTCIceServer[] | null = null;

  #state: ConnectionState = 'idle';
  #transport: Transport | null = null;
  /** Bumped whenever a connection ends, so late events from an old transport are ignored. */
  #generation = 0;
  #attempt = 0;
  #token: string | null = null;
  #tokenExpiresAt: number | null = null;
  #peerId: PeerId | null = null;
  readonly #peers = new Set<PeerId>();
  readonly #timers: Record<TimerName, TimerHandle | null> = {
    heartbeat: null,
    pong: null,
    refresh: null,
    reconnect: null,
    ice: null,
  };

  constructor(options: SignalingClientOptions) {
    super();
    this.url = options.url;
    this.room = options.room;
    this.#getToken = options.getToken;
    this.#transportFactory = options.transport ?? webSocketTransport();
    this.#clock = options.clock ?? systemClock;
    this.#random = options.random ?? Math.random;
    this.#heartbeatIntervalMs = options.heartbeatIntervalMs ?? 15_000;
    this.#heartbeatTimeoutMs = options.heartbeatTimeoutMs ?? 10_000;
    this.#refreshMarginMs = options.refreshMarginMs ?? 60_000;
    this.#backoff = options.reconnect === false ? null : { ...defaultBackoff, ...options.reconnect };
    this.#tokenInUrl = options.tokenInUrl ?? false;
    if (options.token !== undefined) this.#setToken(toGrant(options.token));
    this.#resume = options.resume === false ? null : new SessionResume();
    this.#fetch = options.fetch;
  }

  /** The ICE servers the server gave last (`joined` or a refresh), or null before the first join. */
  get iceServers(): RTCIceServer[] | null {
    return this.#iceServers;
  }

  /** The `seq` of the last relayed message handled, which a resume presents (0 before any). */
  get lastSeq(): number {
    return this.#resume?.lastSeq ?? 0;
  }

  /** The current state; see `ConnectionState`. */
  get state(): ConnectionState {
    return this.#state;
  }

  /** Our peer id in the room while joined, else null. */
  get peerId(): PeerId | null {
    return this.#peerId;
  }

  /** The other peers in the room while joined, in order of arrival. */
  get peers(): readonly PeerId[] {
    return [...this.#peers];
  }

  /** Starts connecting; does nothing unless the client is idle or closed. */
  connect(): void {
    if (this.#state !== 'idle' && this.#state !== 'closed') return;
    this.#attempt = 0;
    this.#setState('connecting');
    void this.#open();
  }

  /** Closes the connection and stops reconnecting and refreshing. `connect()` may start again later. */
  disconnect(code = 1000, reason = 'client disconnect'): void {
    this.#clearTimer('reconnect');
    this.#clearTimer('ice');
    this.#resume?.clear();
    const transport = this.#endConnection();
    if (transport) {
      try {
        transport.close(code, reason);
      } catch (error) {
        this.emit('client_error', { error, during: 'transport' });
      }
    }
    if (this.#state === 'idle' || this.#state === 'closed') return;
    this.#setState('closed');
    this.emit('close', { code, reason, willReconnect: false });
  }

  /** Sends one message; false (and nothing sent) unless the socket is open. */
  send(message: ClientMessage): boolean {
    const transport = this.#transport;
    if (!transport || (this.#state !== 'open' && this.#state !== 'joined')) return false;
    try {
      transport.send(JSON.stringify(message));
      return true;
    } catch (error) {
      this.emit('client_error', { error, during: 'transport' });
      return false;
    }
  }

  /** Sends an offer to `to`, or to every other peer without it. */
  sendOffer(offer: WireDescription, to?: PeerId): boolean {
    return this.send(withTo({ type: 'offer', offer: { type: 'offer', sdp: offer.sdp } }, to));
  }

  /** Sends an answer to `to`, or to every other peer without it. */
  sendAnswer(answer: WireDescription, to?: PeerId): boolean {
    return this.send(withTo({ type: 'answer', answer: { type: 'answer', sdp: answer.sdp } }, to));
  }

  /** Sends a trickled ICE candidate; `null` tells the peer there are no more. */
  sendIceCandidate(candidate: WireCandidate | null, to?: PeerId): boolean {
    return this.send(withTo({ type: 'ice_candidate', candidate }, to));
  }

  /** Sends a `ping`; the server answers `pong` with the same `ts`. */
  ping(ts: number = this.#clock.now()): boolean {
    return this.send({ type: 'ping', ts });
  }

  /**
   * Fetches a token from `getToken` now and sends it with `auth`. Resolves true when a new token was
   * sent (the server answers `auth_ok`), false when there was none, it was unchanged, or not connected.
   */
  async refreshToken(): Promise<boolean> {
    const generation = this.#generation;
    const before = this.#token;
    const grant = await this.#fetchToken();
    if (!grant || grant.token === before) return false;
    this.#setToken(grant);
    if (generation !== this.#generation) return false; // the next connection uses it
    return this.send({ type: 'auth', token: grant.token });
  }

  async #open(): Promise<void> {
    const generation = ++this.#generation;
    if (this.#getToken && this.#tokenIsStale()) {
      const grant = await this.#fetchToken();
      if (generation !== this.#generation) return;
      if (grant) this.#setToken(grant);
      else if (this.#token !== null) {
        // Could not replace a stale token; connecting with it would only earn a 4401.
        this.#afterClose(1006, 'no token available');
        return;
      }
    }
    const url = this.#tokenInUrl
      ? signalingUrl(this.url, this.room, this.#token, this.#resume?.params)
      : signalingUrl(this.url, this.room, null, this.#resume?.params, this.#token !== null);
    const current = () => generation === this.#generation;
    try {
      const transport = this.#transportFactory(url, {
        open: () => current() && this.#handleOpen(),
        message: (text) => current() && this.#handleMessage(text),
        close: (code, reason) => current() && this.#handleClose(code, reason),
      });
      if (current()) this.#transport = transport;
    } catch (error) {
      this.emit('client_error', { error, during: 'transport' });
      if (current()) this.#handleClose(1006, 'could not open the connection');
    }
  }

  #handleOpen(): void {
    this.#setState('open');
    // The server answers `joined` once it has verified this token (when it requires one).
    if (!this.#tokenInUrl && this.#token !== null) this.send({ type: 'auth', token: this.#token });
    this.#scheduleHeartbeat();
    this.emit('open', { attempt: this.#attempt });
  }

  #handleMessage(text: string): void {
    const message = parseServerMessage(text);
    if (!message) {
      this.emit('client_error', { error: new Error('unreadable server message'), during: 'parse' });
      return;
    }
    switch (message.type) {
      case 'joined':
        this.#peerId = message.peer_id;
        this.#peers.clear();
        for (const peer of message.peers) this.#peers.add(peer);
        this.#attempt = 0;
        this.#resume?.joined(message);
        this.#setState('joined');
        this.#scheduleRefresh();
        if (message.ice_servers)
          this.#useIceServers([...message.ice_servers] as RTCIceServer[], message.ice_servers_ttl ?? 0);
        break;
      case 'peer_joined':
        this.#peers.add(message.peer_id);
        break;
      case 'peer_left':
        this.#peers.delete(message.peer_id);
        break;
      case 'pong':
        this.#clearTimer('pong');
        break;
      case 'auth_ok':
        this.#tokenExpiresAt = this.#clock.now() + message.expires_in * 1000;
        this.#scheduleRefresh();
        break;
    }
    this.emit('message', message);
    // TypeScript cannot correlate `message.type` with the payload type of the event of that name.
    this.emit(message.type, message as never);
    // Handled by every listener: a resume need not deliver it again.
    if ('seq' in message && typeof message.seq === 'number') this.#resume?.processed(message.seq);
  }

  /** Takes new ICE servers and refreshes them before their credentials (`ttl` seconds) expire. */
  #useIceServers(iceServers: RTCIceServer[], ttl: number): void {
    this.#iceServers = iceServers;
    this.emit('ice_servers', { iceServers, ttl });
    this.#clearTimer('ice');
    if (ttl <= 0) return;
    this.#setTimer('ice', ttl * 1000 * ICE_REFRESH_SHARE, () => this.#refreshIceServers());
  }

  #refreshIceServers(): void {
    void fetchIceConfig(this.url, { fetch: this.#fetch, token: this.#token }).then((fresh) => {
      if (this.#state === 'closed' || this.#state === 'idle') return;
      if (fresh) this.#useIceServers(fresh.iceServers, fresh.ttl);
      else this.#setTimer('ice', REFRESH_RETRY_MS, () => this.#refreshIceServers());
    });
  }

  #handleClose(code: number, reason: string): void {
    this.#endConnection();
    this.#afterClose(code, reason);
  }

  /** Decides, after a connection ended, whether and when to try again. */
  #afterClose(code: number, reason: string): void {
    const verdict = this.#backoff ? classifyClose(code) : 'final';
    if (verdict === 'retry' || verdict === 'retry-busy') {
      this.#scheduleReconnect(code, reason, verdict === 'retry-busy');
    } else if (verdict === 'retry-with-new-token' && this.#getToken) {
      void this.#reconnectWithNewToken(code, reason);
    } else {
      this.#finish(code, reason);
    }
  }

  /** After a 4401: only a token other than the refused one can succeed. */
  async #reconnectWithNewToken(code: number, reason: string): Promise<void> {
    const refused = this.#token;
    this.#token = null;
    this.#tokenExpiresAt = null;
    this.#setState('reconnecting');
    const generation = this.#generation;
    const grant = await this.#fetchToken();
    if (generation !== this.#generation || this.#state !== 'reconnecting') return; // disconnect() meanwhile
    if (!grant || grant.token === refused) {
      this.#finish(code, reason);
      return;
    }
    this.#setToken(grant);
    this.#scheduleReconnect(code, reason, false);
  }

  #scheduleReconnect(code: number, reason: string, busy: boolean): void {
    const backoff = this.#backoff!;
    if (this.#attempt >= backoff.maxAttempts) {
      this.#finish(code, reason);
      return;
    }
    const delay = Math.max(
      backoffDelay(this.#attempt, backoff, this.#random),
      busy ? backoff.busyDelayMs : 0,
    );
    this.#attempt += 1;
    this.#setState('reconnecting');
    this.emit('close', { code, reason, willReconnect: true });
    this.emit('reconnecting', { attempt: this.#attempt, delayMs: delay, code });
    this.#setTimer('reconnect', delay, () => void this.#open());
  }

  #finish(code: number, reason: string): void {
    this.#resume?.clear();
    this.#clearTimer('ice');
    this.#setState('closed');
    this.emit('close', { code, reason, willReconnect: false });
  }

  /** Forgets the current connection and its timers; returns its transport for closing. */
  #endConnection(): Transport | null {
    const transport = this.#transport;
    this.#transport = null;
    this.#generation += 1;
    this.#peerId = null;
    this.#peers.clear();
    this.#clearTimer('heartbeat');
    this.#clearTimer('pong');
    this.#clearTimer('refresh');
    return transport;
  }

  #scheduleHeartbeat(): void {
    if (this.#heartbeatIntervalMs <= 0) return;
    this.#setTimer('heartbeat', this.#heartbeatIntervalMs, () => {
      if (this.#timers.pong === null)
        this.#setTimer('pong', this.#heartbeatTimeoutMs, () => this.#declareDead());
      this.ping();
      this.#scheduleHeartbeat();
    });
  }

  /** No pong in time: the TCP connection may be silently gone, and closing it could hang, so abandon it. */
  #declareDead(): void {
    const transport = this.#endConnection();
    try {
      transport?.close(HEARTBEAT_CLOSE_CODE, 'heartbeat timeout');
    } catch {
      // Already broken; the point is to stop using it.
    }
    this.#afterClose(1006, 'heartbeat timeout');
  }

  #scheduleRefresh(): void {
    this.#clearTimer('refresh');
    if (!this.#getToken || this.#tokenExpiresAt === null) return;
    const remaining = this.#tokenExpiresAt - this.#clock.now();
    const delay = Math.max(0, remaining - Math.min(this.#refreshMarginMs, remaining / 5));
    this.#setTimer('refresh', delay, () => {
      const generation = this.#generation;
      void this.refreshToken().then((sent) => {
        // Not sent: try again shortly while this connection lasts; when sent, auth_ok reschedules.
        if (!sent && generation === this.#generation && this.#timers.refresh === null) {
          this.#setTimer('refresh', REFRESH_RETRY_MS, () => this.#scheduleRefresh());
        }
      });
    });
  }

  #tokenIsStale(): boolean {
    if (this.#token === null) return true;
    if (this.#tokenExpiresAt === null) return false;
    return this.#tokenExpiresAt - this.#clock.now() < Math.min(this.#refreshMarginMs, 5000);
  }

  async #fetchToken(): Promise<TokenGrant | null> {
    if (!this.#getToken) return null;
    try {
      return toGrant(await this.#getToken());
    } catch (error) {
      this.emit('client_error', { error, during: 'token' });
      return null;
    }
  }

  #setToken(grant: TokenGrant | null): void {
    this.#token = grant?.token ?? null;
    const now = this.#clock.now();
    const expiresIn = grant ? (grant.expiresIn ?? jwtExpiresIn(grant.token, now)) : null;
    this.#tokenExpiresAt = expiresIn === null ? null : now + expiresIn * 1000;
  }

  #setState(state: ConnectionState): void {
    const previous = this.#state;
    if (previous === state) return;
    this.#state = state;
    this.emit('state', { state, previous });
  }

  /** Runs `callback` after `delayMs` as the one pending timer called `name`. */
  #setTimer(name: TimerName, delayMs: number, callback: () => void): void {
    this.#clearTimer(name);
    this.#timers[name] = this.#clock.setTimeout(() => {
      this.#timers[name] = null;
      callback();
    }, delayMs);
  }

  #clearTimer(name: TimerName): void {
    const handle = this.#timers[name];
    if (handle !== null) this.#clock.clearTimeout(handle);
    this.#timers[name] = null;
  }
}

function withTo<T extends object>(body: T, to: PeerId | undefined): T & { to?: PeerId } {
  return to === undefined ? body : { ...body, to };
}
