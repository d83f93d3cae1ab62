import type { FastifyInstance } from 'fastify';
import type { HostCheck } from '../security/host-check.js';

/** Paths served whatever the Host: load balancers and orchestrators probe them by address. */
const ANY_HOST_PATHS = new Set(['/health']);

/**
 * Refuses HTTP requests whose `Host` is not `PUBLIC_ORIGIN`'s (421 Misdirected Request), so a page
 * on a rebound domain cannot read this server's answers. Does nothing without `PUBLIC_ORIGIN`.
 */
export function registerHostGuard(http: FastifyInstance, hosts: HostCheck): void {
  http.addHook('onRequest', async (request, reply) => {
    if (hosts.allows(request.headers.host)) return;
    if (ANY_HOST_PATHS.has((request.url ?? '').split('?', 1)[0]!)) return;
    await reply.code(421).send({ detail: 'this server does not answer for that host' });
  });
}
