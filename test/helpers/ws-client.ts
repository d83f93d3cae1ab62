import { type ClientOptions, WebSocket } from 'ws';

/** A parsed server message; tests look at fields by name. */
export type Received = { type: string; [field: string]: unknown };

/**
 * A real `ws` client with an inbox: `next()` waits for the next message (optionally of one type),
 * `closed` resolves with the close code and reason.
 */
export class TestClient {
  readonly ws: WebSocket;
  readonly inbox: Received[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  readonly opened: Promise<void>;
  httpStatus: number | null = null;
  httpHeaders: Record<string, string | string[] | undefined> = {};
  #waiters: Array<() => void> = [];

  constructor(url: string, options: ClientOptions = {}) {
    this.ws = new WebSocket(url, { rejectUnauthorized: false, ...options });
    this.ws.on('message', (data, isBinary) => {
      if (!isBinary) this.inbox.push(JSON.parse(data.toString()) as Received);
      for (const wake of this.#waiters.splice(0)) wake();
    });
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
    });
    this.opened.catch(() => {});
    this.closed = new Promise((resolve) => {
      // An HTTP answer instead of an upgrade: report it as `code` = -status (e.g. -429).
      this.ws.once('unexpected-response', (req, res) => {
        this.httpStatus = res.statusCode ?? 0;
        this.httpHeaders = res.headers;
        req.destroy();
        resolve({ code: -(res.statusCode ?? 0), reason: res.statusMessage ?? '' });
      });
      this.ws.once('close', (code, reason) => {
        resolve({ code, reason: reason.toString() });
        for (const wake of this.#waiters.splice(0)) wake();
      });
    });
  }

  send(message: unknown): void {
    this.ws.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  /** Resolves with (and removes) the first message matching `type`, waiting up to `timeoutMs`. */
  async next(type?: string, timeoutMs = 3000): Promise<Received> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = this.inbox.findIndex((m) => type === undefined || m.type === type);
      if (index !== -1) return this.inbox.splice(index, 1)[0]!;
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(
          `no ${type ?? 'message'} within ${timeoutMs} ms; inbox: ${JSON.stringify(this.inbox).slice(0, 500)}`,
        );
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 200));
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Sends a ping and expects the pong: proof the socket still works after whatever came before. */
  async expectAlive(): Promise<void> {
    const ts = Math.random();
    this.send({ type: 'ping', ts });
    for (;;) {
      const pong = await this.next('pong');
      if (pong.ts === ts) return;
    }
  }

  close(): void {
    this.ws.close();
  }
}

/** Opens a client to `/ws/{room}` and waits for its `joined` message. */
export async function joinRoom(
  wsUrl: string,
  room: string,
  options: ClientOptions & { token?: string } = {},
): Promise<{ client: TestClient; peerId: string; peers: string[] }> {
  const { token, ...rest } = options;
  const client = new TestClient(
    `${wsUrl}/ws/${room}${token ? `?token=${encodeURIComponent(token)}` : ''}`,
    rest,
  );
  const joined = await client.next('joined');
  return { client, peerId: joined.peer_id as string, peers: joined.peers as string[] };
}

/**
 * Sends a raw upgrade request for `path` exactly as given (no URL normalisation, so `/ws/..` really
 * reaches the server) and resolves with the HTTP status and, after a 101, the close code the server
 * sent in its first close frame (or null).
 */
export async function rawUpgrade(
  port: number,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; closeCode: number | null }> {
  const { connect } = await import('node:net');
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let buffer = Buffer.alloc(0);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer for ${path}`));
    }, 5000);
    socket.on('error', reject);
    socket.on('data', (chunk) => {
      buffer = Buffer.concat([buffer, chunk]);
      const end = buffer.indexOf('\r\n\r\n');
      if (end === -1) return;
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(buffer.subarray(0, end).toString())?.[1] ?? 0);
      const frame = buffer.subarray(end + 4);
      if (status === 101 && frame.length < 4) return;
      clearTimeout(timer);
      socket.destroy();
      const closeCode = status === 101 && (frame[0]! & 0x0f) === 0x8 ? frame.readUInt16BE(2) : null;
      resolve({ status, closeCode });
    });
    const extra = Object.entries(headers)
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('');
    socket.write(
      `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`,
    );
  });
}

/** Reads the next `n` answers to pings: how many were `pong` and how many `rate_limited` errors. */
export async function countPongsAndLimits(
  client: TestClient,
  n: number,
): Promise<{ pongs: number; limited: number }> {
  let pongs = 0;
  let limited = 0;
  while (pongs + limited < n) {
    const m = await client.next();
    if (m.type === 'pong') pongs += 1;
    else if (m.type === 'error' && m.code === 'rate_limited') limited += 1;
  }
  return { pongs, limited };
}
