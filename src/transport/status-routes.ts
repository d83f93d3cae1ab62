import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config/config.js';
import { PROJECT_ROOT, SERVICE_NAME, VERSION } from '../project-files.js';
import type { Broker } from '../signaling/broker.js';

export interface StatusRoutesDeps {
  readonly config: Pick<Config, 'iceServers'>;
  readonly broker: Broker;
  readonly connectionCount: () => number;
  readonly startedAt: number;
  readonly now: () => number;
}

/** `GET /` (JSON, or the landing page for browsers) and `GET /health`. */
export function registerStatusRoutes(app: FastifyInstance, deps: StatusRoutesDeps): void {
  const landingPage = join(PROJECT_ROOT, 'examples', 'index.html');

  app.get('/', async (request, reply) => {
    if (prefersHtml(request.headers.accept)) {
      const html = await readFile(landingPage, 'utf8').catch(() => null);
      if (html !== null) return reply.type('text/html; charset=utf-8').send(html);
    }
    return { status: 'ok', service: SERVICE_NAME, version: VERSION };
  });

  app.get('/health', async (_request, reply) => {
    const brokerOk = await deps.broker.isHealthy().catch(() => false);
    const rooms = brokerOk ? (await deps.broker.rooms().catch(() => [])).length : 0;
    const body = {
      status: brokerOk ? 'healthy' : 'degraded',
      version: VERSION,
      uptime_seconds: Math.floor((deps.now() - deps.startedAt) / 1000),
      connections: deps.connectionCount(),
      rooms,
      broker: { kind: deps.broker.kind, ok: brokerOk },
    };
    return reply.code(brokerOk ? 200 : 503).send(body);
  });
}

/** True when the client lists text/html before any JSON type (what browsers send for navigation). */
function prefersHtml(accept: string | undefined): boolean {
  if (!accept) return false;
  const types = accept.split(',').map((part) => part.split(';')[0]!.trim().toLowerCase());
  const html = types.indexOf('text/html');
  const json = types.indexOf('application/json');
  return html !== -1 && (json === -1 || html < json);
}
