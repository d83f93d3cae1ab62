import { createHmac } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config/config.js';
import type { IceGrant, IceServerInfo } from '../signaling/session-protocol.js';
import { authenticateRequest, type RequestAuthDeps } from './request-auth.js';

export type IceConfig = Pick<Config, 'iceServers' | 'stunUrls' | 'turnUrls' | 'turnSecrets' | 'turnTtl'>;

export type { IceGrant };
/**
 * Builds the ICE server list browsers use: STUN from `STUN_URLS`, TURN from `TURN_URLS` with
 * short-lived credentials in coturn's REST form (`use-auth-secret`: username `<expiry>:<user>`,
 * credential base64(HMAC-SHA1(secret, username)), expiry in Unix seconds `TURN_TTL` from now), then
 * the static `ICE_SERVERS`. The first `TURN_SECRET` signs; listing the old one after a new one in
 * coturn (and here, second) lets credentials already handed out run out instead of failing.
 */
export function iceGrant(config: IceConfig, user: string, nowMs: number): IceGrant {
  const servers: IceServerInfo[] = [];
  if (config.stunUrls.length > 0) servers.push({ urls: [...config.stunUrls] });
  const secret = config.turnSecrets[0];
  if (config.turnUrls.length > 0 && secret !== undefined) {
    const expiry = Math.floor(nowMs / 1000) + config.turnTtl;
    // coturn splits the username at its separator (':'): the user part must not contain one.
    const username = `${expiry}:${user.replace(/:/g, '_')}`;
    const credential = createHmac('sha1', secret).update(username).digest('base64');
    servers.push({ urls: [...config.turnUrls], username, credential });
  }
  servers.push(...config.iceServers);
  return { iceServers: servers, ttl: config.turnTtl };
}

export interface IceRoutesDeps {
  readonly config: IceConfig & Pick<Config, 'requireAuth'>;
  readonly auth: RequestAuthDeps;
  readonly now: () => number;
}

/**
 * `GET /api/ice-servers` → `{"iceServers":[...],"ttl":<seconds>}`, ready for `new
 * RTCPeerConnection(...)`. With `REQUIRE_AUTH` it needs a bearer token (401 without), so TURN
 * credentials go to signed-in users only, and name them; otherwise they name `anonymous`.
 */
export function registerIceRoutes(app: FastifyInstance, deps: IceRoutesDeps): void {
  app.get('/api/ice-servers', async (request, reply) => {
    let user = 'anonymous';
    if (deps.config.requireAuth) {
      const claims = await authenticateRequest(deps.auth, request, reply, null);
      if (claims === null) return reply;
      user = claims.sub;
    }
    void reply.header('Cache-Control', 'no-store');
    return iceGrant(deps.config, user, deps.now());
  });
}
