import { z } from 'zod';
import { peerjsRouteDocs, ROUTES, roomIdParam } from './http-route-docs.js';

/** A JSON Schema (2020-12, the OpenAPI 3.1 dialect) of a zod schema, as a request or a reply has it. */
function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Record<
    string,
    unknown
  >;
  return rest;
}

/**
 * The OpenAPI 3.1 document of every HTTP route, built from the same zod schemas the routes validate
 * with (the login body, the room id pattern). The WebSocket protocol is in the AsyncAPI document.
 */
export function buildOpenApiDocument(version: string, peerjsPath: string | null): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of [...ROUTES, ...peerjsRouteDocs(peerjsPath)]) {
    const operation: Record<string, unknown> = {
      operationId: `${route.method}${route.path.replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ?? '').toUpperCase())}`,
      summary: route.summary,
      tags: [route.tag],
      responses: Object.fromEntries(
        Object.entries(route.responses).map(([status, r]) => [
          status,
          {
            description: r.description,
            content: {
              [r.type ?? 'application/json']: { schema: r.schema ? jsonSchema(r.schema, 'output') : {} },
            },
          },
        ]),
      ),
    };
    const params = [...route.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!);
    if (params.length > 0)
      operation.parameters = params.map((name) => ({
        name,
        in: 'path',
        required: true,
        schema: name === 'room_id' ? jsonSchema(roomIdParam, 'input') : { type: 'string' },
      }));
    if (route.body)
      operation.requestBody = {
        required: true,
        content: { 'application/json': { schema: jsonSchema(route.body, 'input') } },
      };
    if (route.auth === 'metrics') operation.security = [{ metricsToken: [] }, {}];
    else if (route.auth) operation.security = [{ bearer: [] }, {}];
    paths[route.path] ??= {};
    paths[route.path]![route.method] = operation;
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'WebRTC signaling server',
      version,
      description:
        'HTTP API of the signaling server. Tokens are optional where REQUIRE_AUTH=false. The WebSocket protocol at /ws/{room_id} is described in /asyncapi.json.',
    },
    servers: [{ url: '/' }],
    externalDocs: { description: 'WebSocket protocol (AsyncAPI 3)', url: '/asyncapi.json' },
    paths,
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'from POST /auth/login' },
        metricsToken: { type: 'http', scheme: 'bearer', description: 'METRICS_TOKEN' },
      },
    },
  };
}
