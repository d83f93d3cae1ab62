// Builds dist/ when it is missing or older than the sources, so `npm start` works on a fresh clone.
import { execSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function newestMtime(dir) {
  if (!existsSync(dir)) return 0;
  let newest = 0;
  for (const name of readdirSync(dir)) {
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
