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
  app.setNotFoundHandler((request, reply) => {
    void reply.code(404).send({ detail: `no route for ${request.method} ${request.url.split('?')[0]}` });
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
