import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import { VERSION } from '../project-files.js';

/**
 * The page under the server's strict CSP: no inline script or style, everything from this origin.
 * Swagger UI renders the OpenAPI document; the AsyncAPI document is linked.
 */
const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>WebRTC signaling server: API</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css">
</head>
<body>
<nav><p><a href="/openapi.json">OpenAPI 3.1 (HTTP)</a> · <a id="asyncapi" href="/asyncapi.json">AsyncAPI 3 (WebSocket protocol at /ws/{room_id})</a></p></nav>
<div id="api"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script>
</body>
</html>
`;

const INIT = `window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#api', deepLinking: true });\n`;

/**
 * `GET /openapi.json`, `GET /asyncapi.json` and the interactive page `GET /docs` (Swagger UI from
 * swagger-ui-dist, served from this origin). The documents are built on first request, not at start.
 */
export async function registerApiDocsRoutes(http: FastifyInstance, peerjsPath: string | null): Promise<void> {
  let openapi: Promise<string> | null = null;
  let asyncapi: Promise<string> | null = null;
  http.get('/openapi.json', async (_request, reply) => {
    openapi ??= import('./openapi-document.js').then((m) =>
      JSON.stringify(m.buildOpenApiDocument(VERSION, peerjsPath)),
    );
    return reply.type('application/json; charset=utf-8').send(await openapi);
  });
  http.get('/asyncapi.json', async (_request, reply) => {
    asyncapi ??= import('./asyncapi-document.js').then((m) =>
      JSON.stringify(m.buildAsyncApiDocument(VERSION)),
    );
    return reply.type('application/json; charset=utf-8').send(await asyncapi);
  });
  http.get('/docs', async (_request, reply) => reply.type('text/html; charset=utf-8').send(PAGE));
  http.get('/docs/init.js', async (_request, reply) =>
    reply.type('text/javascript; charset=utf-8').send(INIT),
  );
  const swaggerUi = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
  await http.register(fastifyStatic, {
    root: swaggerUi,
    prefix: '/docs/assets/',
    decorateReply: false,
    index: false,
    dotfiles: 'deny',
    allowedPath: (path) =>
      /^\/(swagger-ui\.css|swagger-ui-bundle\.js|favicon-(16x16|32x32)\.png)$/.test(path),
  });
}
