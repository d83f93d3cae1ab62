import { createHash, createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A stand-in for an application's backend, written only from README "Connecting your backend":
 * it mints HS256 tokens and verifies signed requests with node:crypto alone (no JWT library), so the
 * documented recipe is what the tests exercise.
 */

const b64url = (data: Buffer | string) => Buffer.from(data).toString('base64url');

/** An HS256 JWT of `claims`, signed with `key`, as any language's HMAC can make it. */
export function mintHs256(key: string, claims: Record<string, unknown>): string {
  const signing = `${b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }))}.${b64url(JSON.stringify(claims))}`;
  return `${signing}.${b64url(createHmac('sha256', key).update(signing).digest())}`;
}

/** A backend token with the documented claims; `extra` adds or overrides claims. */
export function backendToken(key: string, sub: string, extra: Record<string, unknown> = {}): string {
  const now = Math.floor(Date.now() / 1000);
  return mintHs256(key, {
    iss: 'webrtc-signaling-server',
    aud: 'webrtc-signaling',
    sub,
    iat: now,
    exp: now + 600,
    jti: randomUUID(),
    scope: 'join',
    ...extra,
  });
}

/**
 * Verifies a signed request as the README says: `Authorization` is an HS256 JWT over the secret,
 * not expired, whose `sha256` claim is the base64 SHA-256 of the body. Returns the claims or throws.
 */
export function verifySignedRequest(secret: string, authorization: string | undefined, body: string) {
  const [header, payload, signature] = (authorization ?? '').split('.');
  if (!header || !payload || !signature) throw new Error('no JWT in Authorization');
  if (JSON.parse(Buffer.from(header, 'base64url').toString()).alg !== 'HS256') throw new Error('not HS256');
  const expected = createHmac('sha256', secret).update(`${header}.${payload}`).digest();
  const given = Buffer.from(signature, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new Error('bad signature');
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
  if (typeof claims.exp !== 'number' || claims.exp * 1000 < Date.now()) throw new Error('expired');
  if (claims.sha256 !== createHash('sha256').update(body).digest('base64')) throw new Error('body hash');
  return claims;
}

export interface Received {
  readonly body: Record<string, unknown>;
  readonly claims: Record<string, unknown>;
}

export type Responder = (req: IncomingMessage, res: ServerResponse, body: Record<string, unknown>) => void;

/** A real HTTP server receiving signed POSTs; `respond` decides each answer (default 200). */
export class SignedReceiver {
  readonly received: Received[] = [];
  readonly rejected: string[] = [];
  respond: Responder = (_req, res) => res.end();
  readonly #server = createServer((req, res) => this.#handle(req, res));
  readonly #secret: string;
  readonly #hanging = new Set<ServerResponse>();
  #waiters: Array<() => void> = [];

  constructor(secret: string) {
    this.#secret = secret;
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/hook`;
  }

  /** Never answers from now on (until `respond` changes); `release` answers the held ones. */
  hang(): void {
    this.respond = (_req, res) => this.#hanging.add(res);
  }

  release(): void {
    this.respond = (_req, res) => res.end();
    for (const res of this.#hanging) res.end();
    this.#hanging.clear();
  }

  /** Waits until `predicate` holds for what was received. */
  async until(predicate: (received: readonly Received[]) => boolean, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this.received)) {
      if (Date.now() > deadline)
        throw new Error(
          `receiver: condition not met; got ${JSON.stringify(this.events().map((e) => [e.event, (e.room as { room_id: string }).room_id, e.num_dropped]))}`,
        );
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 100);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** The received bodies, for assertions. */
  events(): Record<string, unknown>[] {
    return this.received.map((r) => r.body);
  }

  async close(): Promise<void> {
    for (const res of this.#hanging) res.destroy();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString();
      try {
        const claims = verifySignedRequest(this.#secret, req.headers.authorization, text);
        const body = JSON.parse(text) as Record<string, unknown>;
        this.received.push({ body, claims });
        this.respond(req, res, body);
      } catch (error) {
        this.rejected.push((error as Error).message);
        res.statusCode = 401;
        res.end();
      }
      for (const wake of this.#waiters.splice(0)) wake();
    });
  }
}
