// Builds dist/ when it is missing or older than the sources, so `npm start` works on a fresh clone.
import { execSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Build output and packaging leftovers inside source folders (client/dist, node_modules) do not count. */
const NOT_SOURCES = new Set(['dist', 'node_modules']);

function newestMtime(dir) {
  if (!existsSync(dir)) return 0;
  let newest = 0;
  for (const name of readdirSync(dir)) {
    if (NOT_SOURCES.has(name) || name.endsWith('.tgz')) continue;
    const path = join(dir, name);
    const stat = statSync(path);
    newest = Math.max(newest, stat.isDirectory() ? newestMtime(path) : stat.mtimeMs);
  }
  return newest;
}

const output = 'dist/src/main.js';
const sourcesChanged = Math.max(newestMtime('src'), newestMtime('client'));
if (!existsSync(output) || statSync(output).mtimeMs < sourcesChanged) {
  console.error('building dist/ ...');
  execSync('npm run build --silent', { stdio: 'inherit' });
}
