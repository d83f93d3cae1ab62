import { randomBytes } from 'node:crypto';
import { type IncomingHttpHeaders, request } from 'node:http';
import { connect, type Socket } from 'node:net';

/** One plain HTTP answer, read whole. */
export interface HttpAnswer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

export interface HttpRequestOptions {
  readonly method?: string;
  readonly headers?: Record<string, string>;
  readonly body?: string | Buffer;
  /** Source address, e.g. `127.0.0.2`: Linux routes all of 127/8 to loopback. */
  readonly localAddress?: string;
  readonly timeoutMs?: number;
}

/** `http.request` to 127.0.0.1 without keep-alive, from `localAddress`; never hangs longer than `timeoutMs`. */
export function httpRequest(
  port: number,
  path: string,
  options: HttpRequestOptions = {},
): Promise<HttpAnswer> {
  const { method = 'GET', headers = {}, body, localAddress = '127.0.0.1', timeoutMs = 10_000 } = options;
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, method, headers, localAddress, agent: false, timeout: timeoutMs },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString(),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer to ${method} ${path} within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** A TCP connection to the server that has completed a WebSocket upgrade (or been refused). */
export interface RawUpgraded {
  readonly socket: Socket;
  readonly status: number;
  readonly headerText: string;
  /** Bytes that arrived after the HTTP head (the first frames). */
  readonly rest: Buffer;
}

/**
 * Opens a raw TCP socket, sends a valid upgrade request for `path` and resolves once the HTTP head of
 * the answer has arrived. The socket is left as it is: the caller reads, pauses or destroys it.
 */
export function rawWebSocket(
  port: number,
  path: string,
  options: { localAddress?: string; headers?: Record<string, string>; timeoutMs?: number } = {},
): Promise<RawUpgraded> {
  const { localAddress = '127.0.0.1', headers = {}, timeoutMs = 5000 } = options;
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', localAddress });
    let buffer = Buffer.alloc(0);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no upgrade answer for ${path} within ${timeoutMs} ms`));
    }, timeoutMs);
    const onData = (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      const end = buffer.indexOf('\r\n\r\n');
      if (end === -1) return;
      clearTimeout(timer);
      socket.off('data', onData);
      socket.pause();
      const headerText = buffer.subarray(0, end).toString();
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(headerText)?.[1] ?? 0);
      resolve({ socket, status, headerText, rest: buffer.subarray(end + 4) });
    };
    socket.on('data', onData);
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.write(upgradeRequest(port, path, headers));
  });
}

/** The text of a valid client upgrade request (random key, version 13) plus `headers`. */
export function upgradeRequest(port: number, path: string, headers: Record<string, string> = {}): string {
  const all: Record<string, string> = {
    Host: `127.0.0.1:${port}`,
    Upgrade: 'websocket',
    Connection: 'Upgrade',
    'Sec-WebSocket-Key': randomBytes(16).toString('base64'),
    'Sec-WebSocket-Version': '13',
    ...headers,
  };
  const lines = Object.entries(all).map(([k, v]) => `${k}: ${v}\r\n`);
  return `GET ${path} HTTP/1.1\r\n${lines.join('')}\r\n`;
}

/** Frame opcodes (RFC 6455 §5.2). */
export const Opcode = {
  Continuation: 0x0,
  Text: 0x1,
  Binary: 0x2,
  Close: 0x8,
  Ping: 0x9,
  Pong: 0xa,
} as const;

/** One client-to-server frame, masked as RFC 6455 requires. */
export function clientFrame(opcode: number, payload: Buffer, fin = true): Buffer {
  const mask = randomBytes(4);
  const length = payload.length;
  const head = length < 126 ? Buffer.alloc(2) : length < 65_536 ? Buffer.alloc(4) : Buffer.alloc(10);
  head[0] = (fin ? 0x80 : 0) | opcode;
  if (length < 126) head[1] = 0x80 | length;
  else if (length < 65_536) {
    head[1] = 0x80 | 126;
    head.writeUInt16BE(length, 2);
  } else {
    head[1] = 0x80 | 127;
    head.writeBigUInt64BE(BigInt(length), 2);
  }
  const masked = Buffer.alloc(length);
  for (let i = 0; i < length; i += 1) masked[i] = payload[i]! ^ mask[i & 3]!;
  return Buffer.concat([head, mask, masked]);
}

/** Resolves when `socket` has closed (or after `timeoutMs`, with false). */
export function socketClosed(socket: Socket, timeoutMs: number): Promise<boolean> {
  if (socket.destroyed) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** One frame sent by the server (unmasked). */
export interface ServerFrame {
  readonly opcode: number;
  readonly payload: Buffer;
}

/**
 * Parses the frames the server sends on a raw socket. `closeCode` is the code of the first close frame
 * (null until one arrives); `frames` holds every frame seen.
 */
export class ServerFrameReader {
  readonly frames: ServerFrame[] = [];
  #buffer: Buffer;
  #waiters: Array<() => void> = [];

  constructor(socket: Socket, initial: Buffer = Buffer.alloc(0)) {
    this.#buffer = initial;
    this.#parse();
    socket.on('data', (chunk: Buffer) => {
      this.#buffer = Buffer.concat([this.#buffer, chunk]);
      this.#parse();
    });
    socket.on('close', () => this.#wake());
    socket.resume();
  }

  get closeCode(): number | null {
    const close = this.frames.find((f) => f.opcode === Opcode.Close);
    return close && close.payload.length >= 2 ? close.payload.readUInt16BE(0) : null;
  }

  /** Text frames parsed as JSON. */
  get messages(): Array<{ type: string; [field: string]: unknown }> {
    return this.frames.filter((f) => f.opcode === Opcode.Text).map((f) => JSON.parse(f.payload.toString()));
  }

  /** Waits until `check` holds (re-checked on every frame), or throws after `timeoutMs`. */
  async until(what: string, check: () => boolean, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 100));
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  #wake(): void {
    for (const wake of this.#waiters.splice(0)) wake();
  }

  #parse(): void {
    for (;;) {
      const b = this.#buffer;
      if (b.length < 2) break;
      let length = b[1]! & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (b.length < 4) break;
        length = b.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        if (b.length < 10) break;
        length = Number(b.readBigUInt64BE(2));
        offset = 10;
      }
      if (b.length < offset + length) break;
      this.frames.push({ opcode: b[0]! & 0x0f, payload: b.subarray(offset, offset + length) });
      this.#buffer = b.subarray(offset + length);
    }
    this.#wake();
  }
}
