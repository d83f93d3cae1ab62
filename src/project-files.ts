import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The project's root folder (the one holding package.json), found from this module's location so it
 * works from `src/` under tsx and from `dist/src/` after a build, whatever the working directory.
 */
export const PROJECT_ROOT: string = findRoot(dirname(fileURLToPath(import.meta.url)));

/** The server's version, from package.json. */
export const VERSION: string = (
  JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string }
).version;

/** The service name reported by `GET /`. */
export const SERVICE_NAME = 'webrtc-signaling-server';

function findRoot(start: string): string {
  let dir = start;
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`package.json not found above ${start}`);
    dir = parent;
  }
  return dir;
}
