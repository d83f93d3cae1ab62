import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config/config.js';
import { PROJECT_ROOT, SERVICE_NAME, VERSION } from '../project-files.js';
import type { Broker } from '../signaling/broker.js';

/** How long one broker check answers every `/health` call: a flood of probes costs Redis one check. */
const HEALTH_CHECK_TTL_MS = 1000;

export interface StatusRoutesDeps {
  readonly config: Pick<Config, 'iceServers'>;
  readonly broker: Broker;
  readonly connectionCount: () => number;
  readonly startedAt: number;
  readonly now: () => number;
}

/**
 * `GET /` (JSON, or the landing page for browsers) and `GET /health` (`GET /api/ice-servers` is in
 * `ice-servers.ts`).
 * `/health` needs no login, so its cost is bounded: one broker check (a ping and a room count) at
 * most once a second, shared by every call made meanwhile.
 */
export function registerStatusRoutes(app: FastifyInstance, deps: StatusRoutesDeps): void {
  const landingPage = join(PROJECT_ROOT, 'examples', 'index.html');
  let check: { at: number; result: Promise<{ ok: boolean; rooms: number }> } | null = null;
  const brokerStatus = () => {
    const now = deps.now();
    if (check === null || now - check.at >= HEALTH_CHECK_TTL_MS) {
      check = { at: now, result: checkBroker(deps.broker) };
    }
    return check.result;
  };

  app.get('/', async (request, reply) => {
    if (prefersHtml(request.headers.accept)) {
      const html = await readFile(landingPage, 'utf8').catch(() => null);
      if (html !== null) return reply.type('text/html; charset=utf-8').send(html);
    }
    return { status: 'ok', service: SERVICE_NAME, version: VERSION };
  });

  app.get('/health', async (_request, reply) => {
    const { ok: brokerOk, rooms } = await brokerStatus();
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

async function checkBroker(broker: Broker): Promise<{ ok: boolean; rooms: number }> {
  const ok = await broker.isHealthy().catch(() => false);
  const rooms = ok ? await broker.roomCount().catch(() => 0) : 0;
  return { ok, rooms };
}

/** True when the client lists text/html before any JSON type (what browsers send for navigation). */
function prefersHtml(accept: string | undefined): boolean {
  if (!accept) return false;
  const types = accept.split(',').map((part) => part.split(';')[0]!.trim().toLowerCase());
  const html = types.indexOf('text/html');
  const json = types.indexOf('application/json');
  return html !== -1 && (json === -1 || html < json);
}
