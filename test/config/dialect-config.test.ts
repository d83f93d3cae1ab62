import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config/config.js';

test('PeerJS and y-webrtc are on by default at /peerjs and /y-webrtc with bounded rooms', () => {
  const config = loadConfig({});
  assert.equal(config.peerjsPath, '/peerjs');
  assert.equal(config.peerjsDiscovery, false);
  assert.equal(config.peerjsExpireTimeoutSeconds, 5);
  assert.equal(config.peerjsMaxPeersPerKey, 1000);
  assert.equal(config.ywebrtcPath, '/y-webrtc');
  assert.equal(config.ywebrtcMaxSubscribersPerTopic, 100);
});

test('an empty PEERJS_PATH or YWEBRTC_PATH turns the dialect off; a trailing slash is dropped', () => {
  const config = loadConfig({ PEERJS_PATH: '', YWEBRTC_PATH: '/signal/yjs/' });
  assert.equal(config.peerjsPath, null);
  assert.equal(config.ywebrtcPath, '/signal/yjs');
});

test('refuses dialect paths that are malformed or would shadow the server’s own routes, naming each', () => {
  for (const bad of ['peerjs', '/', '/ws', '/api/peerjs', '/a b', '/x?y', '//double']) {
    assert.throws(
      () => loadConfig({ PEERJS_PATH: bad }),
      (error: unknown) => error instanceof ConfigError && /PEERJS_PATH=/.test(error.message),
      bad,
    );
  }
  assert.throws(
    () => loadConfig({ YWEBRTC_PATH: '/health', PEERJS_MAX_PEERS_PER_KEY: '1', PEERJS_DISCOVERY: 'maybe' }),
    (error: unknown) => error instanceof ConfigError && error.issues.length === 3,
  );
});
