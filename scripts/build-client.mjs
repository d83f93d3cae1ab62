// Bundles the browser client (client/src/index.ts) into dist/client/signaling-client.js, the ES module
// the example pages load from /client/signaling-client.js. Run by `npm run build` after tsc; browser
// tests import buildClient() so they never run against a stale bundle.
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Where the bundle is written. */
export const clientBundlePath = join(root, 'dist', 'client', 'signaling-client.js');

/**
 * Builds the bundle and its source map. Files are written under temporary names and renamed into
 * place, so a server serving the directory (or a parallel build) never sees half a file.
 */
export async function buildClient({ outfile = clientBundlePath } = {}) {
  const result = await build({
    absWorkingDir: root,
    entryPoints: [join(root, 'client', 'src', 'index.ts')],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2020',
    sourcemap: true,
    legalComments: 'none',
    logLevel: 'warning',
    write: false,
  });
  mkdirSync(dirname(outfile), { recursive: true });
  const suffix = `.${process.pid}.${Date.now()}.tmp`;
  for (const file of result.outputFiles) {
    writeFileSync(file.path + suffix, file.contents);
    renameSync(file.path + suffix, file.path);
  }
  return outfile;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  await buildClient();
}
