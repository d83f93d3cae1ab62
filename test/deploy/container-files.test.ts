import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ValidationSeverity, validate } from 'dockerfile-utils';
import { parse } from 'yaml';
import { CONFIG_VARIABLES } from '../../src/config/config.js';

/** Images cannot be pulled or built on the test machines: these checks are what can be verified. */
describe('container files', () => {
  test('the Dockerfile lints clean with every rule an error, and has what operators rely on', async () => {
    const dockerfile = await readFile('Dockerfile', 'utf8');
    const strict = ValidationSeverity.ERROR;
    const problems = validate(dockerfile, {
      deprecatedMaintainer: strict,
      directiveCasing: strict,
      emptyContinuationLine: strict,
      instructionCasing: strict,
      instructionCmdMultiple: strict,
      instructionEntrypointMultiple: strict,
      instructionHealthcheckMultiple: strict,
      instructionJSONInSingleQuotes: strict,
      instructionWorkdirRelative: strict,
    });
    assert.deepEqual(
      problems.map((p) => `line ${p.range.start.line + 1}: ${p.message}`),
      [],
    );
    const stages = dockerfile.match(/^FROM /gm) ?? [];
    assert.ok(stages.length >= 2, 'multi-stage');
    assert.match(dockerfile, /npm prune --omit=dev/, 'production dependencies only');
    assert.match(dockerfile, /^USER node$/m, 'runs as the unprivileged node user');
    assert.match(dockerfile, /^HEALTHCHECK .*scripts\/healthcheck\.mjs/m);
    assert.match(dockerfile, /^VOLUME \["\/data"\]$/m);
    for (const variable of [
      'USERS_FILE=/data/',
      'JWT_SECRET_FILE=/data/',
      'SSL_CERTFILE=/data/',
      'SSL_KEYFILE=/data/',
    ])
      assert.ok(dockerfile.includes(variable), `${variable} on the volume`);
    for (const copied of dockerfile.matchAll(/^COPY (?!--from)(\S+)/gm))
      assert.ok(existsSync(copied[1]!), `${copied[1]} exists`);
    const ignored = await readFile('.dockerignore', 'utf8');
    for (const secret of ['users.csv', '.jwt_secret', 'ssl', '.env'])
      assert.ok(ignored.split('\n').includes(secret), `${secret} never baked into the image`);
  });

  test('the healthcheck script reports the live endpoint of a running server', async () => {
    const { execFile } = await import('node:child_process');
    const { withServer } = await import('../helpers/server.js');
    // The server runs in this process: the check must not block its event loop (no spawnSync).
    const check = (env: Record<string, string>, cwd: string) =>
      new Promise<number>((resolve) => {
        execFile(
          process.execPath,
          [join(process.cwd(), 'scripts', 'healthcheck.mjs')],
          { env, cwd },
          (error) => resolve(error ? Number(error.code ?? 1) : 0),
        );
      });
    await withServer({}, async (server) => {
      const env = { PATH: process.env.PATH ?? '', REQUIRE_HTTPS: 'false', PORT: String(server.port) };
      assert.equal(await check(env, server.dir), 0);
      assert.equal(await check({ ...env, PORT: '1' }, server.dir), 1);
    });
  });

  test('docker-compose.yml parses: Redis, two instances and nginx, every variable a real setting', async () => {
    const compose = parse(await readFile('docker-compose.yml', 'utf8'), { merge: true }) as {
      services: Record<
        string,
        { environment?: Record<string, string>; image?: string; build?: string; volumes?: string[] }
      >;
    };
    const services = compose.services;
    assert.deepEqual(Object.keys(services).sort(), ['nginx', 'redis', 'signaling-1', 'signaling-2']);
    for (const name of ['signaling-1', 'signaling-2']) {
      const service = services[name]!;
      assert.equal(service.build, '.');
      const env = service.environment ?? {};
      for (const variable of Object.keys(env))
        assert.ok(CONFIG_VARIABLES.includes(variable), `${name}: ${variable} is a setting`);
      assert.equal(env.REDIS_URL, 'redis://redis:6379');
      assert.equal(env.TRUST_PROXY, '1');
      assert.ok(
        service.volumes?.some((v) => v.endsWith(':/data')),
        'users file and key on a volume',
      );
    }
    const nginx = services.nginx!;
    assert.ok(nginx.volumes?.includes('./deploy/nginx.conf:/etc/nginx/nginx.conf:ro'));
    const conf = await readFile('deploy/nginx.conf', 'utf8');
    for (const name of ['signaling-1', 'signaling-2']) assert.match(conf, new RegExp(`server ${name}:8000`));
  });
});
