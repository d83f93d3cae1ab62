import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { CONFIG_VARIABLES, ConfigError, loadConfig } from '../../src/config/config.js';
import { readEnvironment } from '../../src/config/environment.js';

describe('loadConfig', () => {
  test('applies the contract defaults to an empty environment', () => {
    const config = loadConfig({});
    assert.equal(config.host, '0.0.0.0');
    assert.equal(config.port, 8000);
    assert.equal(config.debug, false);
    assert.equal(config.requireHttps, true);
    assert.equal(config.requireAuth, true);
    assert.equal(config.jwtSecretFile, '.jwt_secret');
    assert.equal(config.jwtExpireMinutes, 60);
    assert.deepEqual(config.corsOrigins, ['https://localhost:3000']);
    assert.equal(config.rateLimitPerMinute, 60);
    assert.equal(config.rateLimitBurst, 60);
    assert.equal(config.maxConnectionsPerIp, 5);
    assert.equal(config.maxConnectionsPerRoom, 10);
    assert.equal(config.websocketTimeout, 30);
    assert.equal(config.maxMessageBytes, 65536);
    assert.equal(config.authMaxFailures, 5);
    assert.equal(config.authFailureWindow, 300);
    assert.equal(config.authBlockSeconds, 900);
    assert.equal(config.usersFile, 'users.csv');
    assert.equal(config.sslCertfile, 'ssl/server.crt');
    assert.equal(config.sslKeyfile, 'ssl/server.key');
    assert.deepEqual(config.trustProxy, { kind: 'none' });
    assert.equal(config.redisUrl, null);
    assert.equal(config.logLevel, 'info');
    assert.ok(Object.isFrozen(config));
  });

  test('reads every contract variable', () => {
    for (const name of [
      'HOST',
      'PORT',
      'DEBUG',
      'REQUIRE_HTTPS',
      'REQUIRE_AUTH',
      'SECRET_KEY',
      'JWT_SECRET_KEY',
      'JWT_SECRET_FILE',
      'JWT_EXPIRE_MINUTES',
      'CORS_ORIGINS',
      'RATE_LIMIT_PER_MINUTE',
      'RATE_LIMIT_BURST',
      'MAX_CONNECTIONS_PER_IP',
      'MAX_CONNECTIONS_PER_ROOM',
      'WEBSOCKET_TIMEOUT',
      'MAX_MESSAGE_BYTES',
      'AUTH_MAX_FAILURES',
      'AUTH_FAILURE_WINDOW',
      'AUTH_BLOCK_SECONDS',
      'USERS_FILE',
      'SSL_CERTFILE',
      'SSL_KEYFILE',
      'TRUST_PROXY',
      'REDIS_URL',
      'LOG_LEVEL',
    ]) {
      assert.ok(CONFIG_VARIABLES.includes(name), name);
    }
  });

  test('parses booleans, numbers, origin lists, proxy trust and burst', () => {
    const config = loadConfig({
      DEBUG: 'TRUE',
      REQUIRE_HTTPS: '0',
      PORT: '9000',
      CORS_ORIGINS: 'https://a.example, http://localhost:3000/',
      TRUST_PROXY: '10.0.0.0/8,::1',
      RATE_LIMIT_PER_MINUTE: '120',
      RATE_LIMIT_BURST: '10',
      REDIS_URL: 'redis://127.0.0.1:6379/0',
    });
    assert.equal(config.debug, true);
    assert.equal(config.requireHttps, false);
    assert.equal(config.port, 9000);
    assert.deepEqual(config.corsOrigins, ['https://a.example', 'http://localhost:3000']);
    assert.deepEqual(config.trustProxy, { kind: 'addresses', addresses: ['10.0.0.0/8', '::1'] });
    assert.equal(config.rateLimitBurst, 10);
    assert.equal(config.redisUrl, 'redis://127.0.0.1:6379/0');
    assert.deepEqual(loadConfig({ TRUST_PROXY: '2' }).trustProxy, { kind: 'hops', hops: 2 });
    assert.deepEqual(loadConfig({ TRUST_PROXY: 'true' }).trustProxy, { kind: 'hops', hops: 1 });
  });

  test('reports every bad variable at once, one line each naming variable, value and what is allowed', () => {
    let error: unknown;
    try {
      loadConfig({
        PORT: '70000',
        DEBUG: 'maybe',
        CORS_ORIGINS: 'https://a.example/path',
        LOG_LEVEL: 'loud',
        REDIS_URL: 'http://x',
        MAX_CONNECTIONS_PER_ROOM: '-1',
      });
    } catch (e) {
      error = e;
    }
    assert.ok(error instanceof ConfigError);
    const lines = error.message.split('\n');
    assert.equal(lines.length, 6);
    assert.match(lines[0]!, /^invalid configuration: PORT="70000": expected a whole number from 0 to 65535$/);
    assert.ok(
      lines.some((l) => l.startsWith('invalid configuration: DEBUG="maybe": expected true or false')),
    );
    assert.ok(lines.some((l) => l.includes('LOG_LEVEL="loud"') && l.includes('info')));
    assert.ok(lines.some((l) => l.includes('CORS_ORIGINS')));
    assert.ok(lines.some((l) => l.includes('REDIS_URL')));
    assert.ok(lines.some((l) => l.includes('MAX_CONNECTIONS_PER_ROOM')));
  });

  test('refuses a JWT key shorter than 32 bytes without echoing it', () => {
    assert.throws(
      () => loadConfig({ JWT_SECRET_KEY: 'short-secret' }),
      (e: Error) =>
        e.message.includes('JWT_SECRET_KEY') &&
        e.message.includes('32 bytes') &&
        !e.message.includes('short-secret'),
    );
    assert.throws(() => loadConfig({ SECRET_KEY: 'short' }), /SECRET_KEY/);
    assert.equal(
      loadConfig({ SECRET_KEY: 'short', JWT_SECRET_KEY: 'k'.repeat(32) }).jwtSecretKey,
      'k'.repeat(32),
    );
  });

  test('scale-out: WORKERS needs REDIS_URL, a seed list needs REDIS_CLUSTER, one line each', () => {
    assert.throws(
      () => loadConfig({ WORKERS: '2' }),
      (e: Error) =>
        /^invalid configuration: WORKERS="2": .*REDIS_URL/.test(e.message) && !e.message.includes('\n'),
    );
    assert.throws(() => loadConfig({ WORKERS: 'many' }), /WORKERS="many": expected auto or a whole number/);
    assert.throws(
      () => loadConfig({ REDIS_URL: 'redis://a:7000,b:7001' }),
      /REDIS_URL=.*needs REDIS_CLUSTER=true/,
    );
    const config = loadConfig({
      WORKERS: 'auto',
      REDIS_URL: 'redis://a:7000,b:7001',
      REDIS_CLUSTER: 'true',
      REDIS_HEARTBEAT_MS: '500',
    });
    assert.equal(config.workers, 'auto');
    assert.equal(config.redisCluster, true);
    assert.equal(config.redisHeartbeatMs, 500);
    assert.equal(loadConfig({}).workers, 1);
  });
});

describe('readEnvironment', () => {
  test('reads .env and lets the environment win', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'env-'));
    const file = join(dir, '.env');
    await writeFile(file, '# comment\nPORT=9100\nDEBUG=true\nCORS_ORIGINS="https://a.example"\n');
    const env = readEnvironment(file, { PORT: '9200' });
    assert.equal(env.PORT, '9200');
    assert.equal(env.DEBUG, 'true');
    assert.equal(env.CORS_ORIGINS, 'https://a.example');
    assert.deepEqual(readEnvironment(join(dir, 'missing.env'), { A: '1' }), { A: '1' });
  });
});
