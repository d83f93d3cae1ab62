import fastifyCors from '@fastify/cors';
import fastifyHelmet from '@fastify/helmet';
import type { FastifyInstance } from 'fastify';
import type { OriginPolicy } from '../security/origin-policy.js';

/**
 * What the example pages need and nothing more: scripts, styles and media from this origin only, no
 * framing, no plugins. `connect-src 'self'` covers the pages' own WebSocket (CSP 3 matches ws:/wss:
 * of the same host); listing `ws: wss:` would have allowed a connection to any host.
 */
const CONTENT_SECURITY_POLICY = {
  useDefaults: false,
  directives: {
    defaultSrc: ["'self'"],
    scriptSrc: ["'self'"],
    styleSrc: ["'self'"],
    imgSrc: ["'self'", 'data:', 'blob:'],
    mediaSrc: ["'self'", 'blob:', 'mediastream:'],
    connectSrc: ["'self'"],
    frameAncestors: ["'none'"],
    baseUri: ["'self'"],
    formAction: ["'self'"],
    objectSrc: ["'none'"],
  },
};

/**
 * Hardening headers on every HTTP answer (helmet: CSP, no framing, no referrer, HSTS over TLS) and
 * CORS for `CORS_ORIGINS` only (never `*`), with `Vary: Origin`.
 */
export async function registerSecurityHeaders(
  http: FastifyInstance,
  origins: OriginPolicy,
  secure: boolean,
): Promise<void> {
  await http.register(fastifyHelmet, {
    contentSecurityPolicy: CONTENT_SECURITY_POLICY,
    strictTransportSecurity: secure ? { maxAge: 31_536_000, includeSubDomains: true } : false,
    referrerPolicy: { policy: 'no-referrer' },
    frameguard: { action: 'deny' },
    crossOriginEmbedderPolicy: false,
  });
  await http.register(fastifyCors, {
    origin: (origin, callback) => callback(null, origin === undefined ? false : origins.allowsCors(origin)),
    methods: ['GET', 'POST'],
    allowedHeaders: ['Content-Type', 'Authorization'],
    maxAge: 600,
  });
}
