import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const root = fileURLToPath(new URL('../..', import.meta.url));
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
const esbuild = join(root, 'node_modules', 'esbuild', 'bin', 'esbuild');
const run = promisify(execFile);

/** Runs a command; resolves with its exit code and output instead of rejecting on failure. */
async function attempt(file: string, args: string[], cwd: string): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await run(file, args, { cwd, maxBuffer: 16 * 1024 * 1024 });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? 1, output: `${failed.stdout ?? ''}${failed.stderr ?? ''}` };
  }
}

function typeCheck(project: string, tsconfig: string) {
  return attempt(process.execPath, [tsc, '-p', tsconfig], project);
}

/** A small call written the way an application would write it, against the package's name. */
const CALL = `import { CloseCode, type ConnectionState, PeerMesh, SignalingClient } from 'webrtc-signaling-client';

export function call(room: string): PeerMesh {
  const client = new SignalingClient({ url: 'https://localhost:8000', room, getToken: () => null });
  const mesh = new PeerMesh(client, { rtcConfiguration: { iceServers: [] }, dataChannel: 'chat' });
  mesh.on('data', ({ peerId, data }) => console.log(peerId, data));
  client.on('joined', ({ peer_id, peers }) => console.log(peer_id, 'joined with', peers.length, 'others'));
  client.on('offer', ({ from, offer }) => console.log(from, offer.sdp.length));
  client.on('close', ({ code }) => {
    if (code === CloseCode.RoomFull) console.log('room full');
  });
  const state: ConnectionState = client.state;
  console.log(state);
  client.connect();
  return mesh;
}
`;

/** Two mistakes the declarations must catch: a missing option and a wrong payload type. */
const BROKEN = `import { SignalingClient } from 'webrtc-signaling-client';

const client = new SignalingClient({ room: 'demo' });
client.on('joined', (message) => {
  const count: number = message.room_id;
  console.log(count);
});
`;

function tsconfig(module: 'NodeNext' | 'Bundler', file: string): string {
  return JSON.stringify({
    compilerOptions: {
      target: 'ES2022',
      module: module === 'NodeNext' ? 'NodeNext' : 'ESNext',
      moduleResolution: module,
      lib: ['ES2022', 'DOM', 'DOM.Iterable'],
      strict: true,
      noEmit: true,
      // The package's own declarations are checked too, without Node's types.
      skipLibCheck: false,
      types: [],
    },
    files: [file],
  });
}

// `npm pack` in client/ (whose prepack builds dist/), then the tarball installed into a scratch
// project with no network and an empty npm cache: that only works with zero dependencies.
describe('the client package', () => {
  let dir: string;
  let project: string;
  let packed: { filename: string; files: Array<{ path: string }> };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'client-package-'));
    const pack = await run('npm', ['pack', '--json', '--ignore-scripts=false', '--pack-destination', dir], {
      cwd: join(root, 'client'),
    });
    // npm prints the prepack script's output before the JSON.
    packed = JSON.parse(pack.stdout.slice(pack.stdout.indexOf('[')))[0];
    project = join(dir, 'scratch');
    mkdirSync(project);
    writeFileSync(
      join(project, 'package.json'),
      JSON.stringify({ name: 'scratch', private: true, type: 'module' }),
    );
    await run(
      'npm',
      [
        'install',
        '--offline',
        '--no-audit',
        '--no-fund',
        '--cache',
        join(dir, 'cache'),
        join(dir, packed.filename),
      ],
      { cwd: project },
    );
    writeFileSync(join(project, 'call.ts'), CALL);
    writeFileSync(join(project, 'broken.ts'), BROKEN);
    writeFileSync(join(project, 'tsconfig.json'), tsconfig('NodeNext', 'call.ts'));
    writeFileSync(join(project, 'tsconfig.bundler.json'), tsconfig('Bundler', 'call.ts'));
    writeFileSync(join(project, 'tsconfig.broken.json'), tsconfig('NodeNext', 'broken.ts'));
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  test('the tarball holds the bundle, the declarations, README and LICENSE, and no sources', () => {
    const files = packed.files.map((file) => file.path);
    for (const expected of [
      'package.json',
      'README.md',
      'LICENSE',
      'dist/index.js',
      'dist/types/client/src/index.d.ts',
      'dist/types/src/signaling/errors.d.ts',
      'dist/types/src/signaling/protocol.d.ts',
    ])
      assert.ok(files.includes(expected), `${expected} in ${files.join(', ')}`);
    assert.deepEqual(
      files.filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts')),
      [],
    );
    const manifest = JSON.parse(
      readFileSync(join(project, 'node_modules', 'webrtc-signaling-client', 'package.json'), 'utf8'),
    );
    assert.equal(manifest.type, 'module');
    assert.equal(manifest.license, 'MIT');
    assert.equal(manifest.dependencies, undefined);
  });

  test('a call type-checks against the declarations (NodeNext and Bundler resolution)', async () => {
    for (const config of ['tsconfig.json', 'tsconfig.bundler.json']) {
      const result = await typeCheck(project, config);
      assert.equal(result.code, 0, `${config}:\n${result.output}`);
    }
  });

  test('type errors in a call are reported, so the types are real', async () => {
    const result = await typeCheck(project, 'tsconfig.broken.json');
    assert.notEqual(result.code, 0);
    assert.match(result.output, /broken\.ts\(3,\d+\): error TS2345:.*Property 'url' is missing/s);
    assert.match(
      result.output,
      /broken\.ts\(5,\d+\): error TS2322: Type 'string' is not assignable to type 'number'/,
    );
  });

  test('a call bundles with esbuild into code that no longer imports the package', async () => {
    const result = await attempt(
      esbuild,
      ['call.ts', '--bundle', '--format=esm', '--platform=browser', '--outfile=out/call.js'],
      project,
    );
    assert.equal(result.code, 0, result.output);
    const bundle = readFileSync(join(project, 'out', 'call.js'), 'utf8');
    assert.match(bundle, /var SignalingClient = class/);
    assert.match(bundle, /var PeerMesh = class/);
    assert.doesNotMatch(bundle, /from ["']webrtc-signaling-client["']/);
  });

  test('the package resolves by name in Node and carries the server catalog of close codes', async () => {
    const script = `import { CloseCode, classifyClose, signalingUrl } from 'webrtc-signaling-client';
      console.log(JSON.stringify([CloseCode.RoomFull, classifyClose(CloseCode.RoomFull), signalingUrl('https://h', 'r')]));`;
    const result = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: project });
    assert.deepEqual(JSON.parse(result.stdout), [4409, 'retry-busy', 'wss://h/ws/r']);
  });
});
