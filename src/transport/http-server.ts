import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import type { Logger } from 'pino';
import { redactUrl } from '../logger.js';
import type { TlsMaterial } from './tls.js';

/** Largest HTTP request body (logins and room queries are a few hundred bytes). */
const HTTP_BODY_LIMIT_BYTES = 16 * 1024;

/** Node server options shared by HTTP and HTTPS. */
const SERVER_OPTIONS = {
  // Slowloris: a client must send its headers within 10 s and its whole request within 30 s.
  headersTimeout: 10_000,
  requestTimeout: 30_000,
  keepAliveTimeout: 5_000,
  connectionsCheckingInterval: 1_000,
  maxHeaderSize: 16 * 1024,
};
const TLS_HANDSHAKE_TIMEOUT_MS = 10_000;

/** The Fastify app and the Node server under it (the WebSocket gateway attaches to the latter). */
export interface HttpLayer {
  readonly http: FastifyInstance;
  readonly server: HttpServer | HttpsServer;
}

/**
 * Creates the HTTP or, with `tls`, HTTPS server and its Fastify app: slowloris timeouts, a small
 * body limit, 503 while closing, and one access-log line per request with secrets cut from the URL.
 * Nothing listens yet.
 */
export function createHttpLayer(log: Logger, tls: TlsMaterial | null): HttpLayer {
  let server: HttpServer | HttpsServer | undefined;
  const http = Fastify({
    loggerInstance: log as FastifyBaseLogger,
    // One access line per request comes from the onResponse hook below, with the URL redacted.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: HTTP_BODY_LIMIT_BYTES,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    serverFactory: (handler) => {
      server = tls
        ? createHttpsServer(
            { ...tls, ...SERVER_OPTIONS, handshakeTimeout: TLS_HANDSHAKE_TIMEOUT_MS },
            handler,
          )
        : createHttpServer(SERVER_OPTIONS, handler);
      return server;
    },
  });
  http.addHook('onResponse', async (request, reply) => {
    request.log.info(
      {
        method: request.method,
        url: redactUrl(request.url),
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime),
      },
      'http request',
    );
  });
  if (!server) throw new Error('Fastify did not create its server');
  return { http, server };
}

/** Listens on `host`:`port`, resolving to the bound port (`port` 0 picks a free one). */
export async function listenOn(layer: HttpLayer, host: string, port: number): Promise<number> {
  // Fastify's own line would say http:// for an https.Server; main.ts logs the real URL.
  await layer.http.listen({
    host,
    port,
    listenTextResolver: (address) => `HTTP server bound to ${address.replace(/^https?:\/\//, '')}`,
  });
  const address = layer.server.address();
  return typeof address === 'object' && address !== null ? address.port : port;
}
