import type { FastifyError, FastifyInstance } from 'fastify';
import type { z } from 'zod';

/** Formats a zod failure as one readable `detail` line: "username: Too small; password: Required". */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : 'body'}: ${issue.message}`)
    .join('; ');
}

/**
 * JSON errors for every failure: `{"detail": ...}` with the right 4xx, 404 for unknown routes and a
 * bare "internal server error" for anything unexpected. Never a stack trace on the wire.
 */
export function registerErrorHandlers(app: FastifyInstance): void {
  const routes = new RouteMethods();
  app.addHook('onRoute', (route) => routes.add(route.method, route.url));
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? '/';
    const allowed = routes.allowedFor(path);
    if (allowed.length > 0) {
      void reply
        .code(405)
        .header('Allow', allowed.join(', '))
        .send({ detail: `${request.method} is not allowed on ${path}; use ${allowed.join(' or ')}` });
      return;
    }
    void reply.code(404).send({ detail: `no route for ${request.method} ${path}` });
  });
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const status = error.statusCode ?? 500;
    if (status >= 500) {
      request.log.error({ err: error }, 'request failed');
      void reply.code(500).send({ detail: 'internal server error' });
      return;
    }
    let detail = error.message;
    if (error.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || error instanceof SyntaxError)
      detail = 'request body is not valid JSON';
    else if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') detail = 'request body too large';
    else if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE')
      detail = 'unsupported content type; send application/json';
    else if (error.code === 'FST_ERR_CTP_EMPTY_JSON_BODY')
      detail = 'request body is empty; send a JSON object';
    void reply.code(status).send({ detail });
  });
}

/**
 * The methods registered for each route pattern, so a known path asked with another method gets
 * 405 and `Allow` instead of 404. Must see every route: register it before the routes.
 */
class RouteMethods {
  readonly #patterns = new Map<string, { readonly match: RegExp; readonly methods: Set<string> }>();

  add(method: string | string[], url: string): void {
    let entry = this.#patterns.get(url);
    if (!entry) {
      entry = { match: patternToRegExp(url), methods: new Set() };
      this.#patterns.set(url, entry);
    }
    for (const m of Array.isArray(method) ? method : [method]) entry.methods.add(m.toUpperCase());
  }

  allowedFor(path: string): string[] {
    const methods = new Set<string>();
    for (const { match, methods: registered } of this.#patterns.values())
      if (match.test(path)) for (const m of registered) methods.add(m);
    return [...methods].sort();
  }
}

/** `/api/rooms/:room_id/info` → `^/api/rooms/[^/]+/info$`; `/examples/*` matches everything below. */
function patternToRegExp(url: string): RegExp {
  const source = url
    .split('/')
    .map((segment) =>
      segment.startsWith(':')
        ? '[^/]+'
        : segment === '*'
          ? '.*'
          : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'),
    )
    .join('/');
  return new RegExp(`^${source}$`);
}
