import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import { PROJECT_ROOT } from '../project-files.js';

/** `/examples/` (the browser clients) and `/client/` (the bundled client library). No dotfiles. */
export async function registerStaticMounts(http: FastifyInstance): Promise<void> {
  await http.register(fastifyStatic, {
    root: join(PROJECT_ROOT, 'examples'),
    prefix: '/examples/',
    index: ['index.html'],
    dotfiles: 'deny',
  });
  await http.register(fastifyStatic, {
    root: join(PROJECT_ROOT, 'dist', 'client'),
    prefix: '/client/',
    decorateReply: false,
    index: false,
    dotfiles: 'deny',
  });
}
