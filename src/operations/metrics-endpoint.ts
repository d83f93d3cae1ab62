import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import type { ServerMetrics } from './server-metrics.js';

/** Renders the Prometheus text exposition: one instance's metrics, or every worker's. */
export type MetricsRenderer = () => Promise<{ readonly body: string; readonly contentType: string }>;

/** `GET /metrics` on the main server, behind `METRICS_TOKEN` when set (401 otherwise). */
export function registerMetricsRoute(
  http: FastifyInstance,
  metrics: ServerMetrics,
  token: string | null,
): void {
  http.get('/metrics', async (request, reply) => {
    if (!authorized(request.headers.authorization, token))
      return reply.code(401).header('WWW-Authenticate', 'Bearer').send({ detail: 'metrics token required' });
    const { body, contentType } = await metrics.render();
    return reply.type(contentType).send(body);
  });
}

/**
 * A separate plain-HTTP server for `METRICS_PORT` that answers `GET /metrics` (same token rule) and
 * 404 to anything else; resolves once it listens. Close it with `server.close()`.
 */
export function listenMetricsServer(
  host: string,
  port: number,
  render: MetricsRenderer,
  token: string | null,
): Promise<Server> {
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?', 1)[0];
    if (req.method !== 'GET' || path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"detail":"only GET /metrics here"}');
      return;
    }
    if (!authorized(req.headers.authorization, token)) {
      res
        .writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Bearer' })
        .end('{"detail":"metrics token required"}');
      return;
    }
    render().then(
      ({ body, contentType }) => res.writeHead(200, { 'content-type': contentType }).end(body),
      () =>
        res.writeHead(500, { 'content-type': 'application/json' }).end('{"detail":"internal server error"}'),
    );
  });
  server.keepAliveTimeout = 5_000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

/** Constant-time check of `Authorization: Bearer <token>`; always true without a token configured. */
function authorized(header: string | undefined, token: string | null): boolean {
  if (token === null) return true;
  const match = /^Bearer\s+(.+)$/i.exec(header ?? '');
  if (!match) return false;
  const digest = (text: string) => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(match[1]!.trim()), digest(token));
}
