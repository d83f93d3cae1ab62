import type { FastifyInstance } from 'fastify';
import type { Config } from '../config/config.js';
import { authenticateRequest, type RequestAuthDeps } from './request-auth.js';

export interface IceServerRoutesDeps {
  readonly config: Pick<Config, 'requireAuth' | 'iceServers'>;
  readonly auth: RequestAuthDeps;
}

/**
 * `GET /api/ice-servers` → `{"iceServers":[...]}`. With `REQUIRE_AUTH` it needs a valid token, as
 * the list may hold TURN credentials (an open relay otherwise); answers are never cached.
 */
export function registerIceServerRoutes(app: FastifyInstance, deps: IceServerRoutesDeps): void {
  app.get('/api/ice-servers', async (request, reply) => {
    if (deps.config.requireAuth && !(await authenticateRequest(deps.auth, request, reply, null)))
      return reply;
    reply.header('Cache-Control', 'no-store');
    return { iceServers: deps.config.iceServers };
  });
}
