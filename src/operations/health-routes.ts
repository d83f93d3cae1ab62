import type { FastifyInstance } from 'fastify';
import type { Broker } from '../signaling/broker.js';

export interface HealthRoutesDeps {
  readonly broker: Pick<Broker, 'kind' | 'isHealthy'>;
  readonly draining: () => boolean;
}

/**
 * Probes for orchestrators and load balancers, beside the contract's `/health`:
 * `GET /health/live` is 200 while the process answers at all (restart it otherwise);
 * `GET /health/ready` is 200 while it can take connections (broker reachable, not draining) and 503
 * otherwise (send it no new clients). Neither needs a token.
 */
export function registerHealthRoutes(http: FastifyInstance, deps: HealthRoutesDeps): void {
  http.get('/health/live', async () => ({ status: 'alive' }));
  http.get('/health/ready', async (_request, reply) => {
    const draining = deps.draining();
    const brokerOk = await deps.broker.isHealthy().catch(() => false);
    const ready = brokerOk && !draining;
    return reply.code(ready ? 200 : 503).send({
      status: ready ? 'ready' : 'not_ready',
      draining,
      broker: { kind: deps.broker.kind, ok: brokerOk },
    });
  });
}
