// Container HEALTHCHECK: exit 0 when GET /health/live answers 200 on this instance, else 1.
// Reads the same configuration as the server (environment and .env), so HTTP or HTTPS and the port
// always match; the self-signed certificate of a fresh container is accepted (loopback only).
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { loadConfig } from '../dist/src/config/config.js';
import { readEnvironment } from '../dist/src/config/environment.js';

const config = loadConfig(readEnvironment());
const request = config.requireHttps ? httpsRequest : httpRequest;
const req = request(
  { host: '127.0.0.1', port: config.port, path: '/health/live', rejectUnauthorized: false, timeout: 2500 },
  (res) => process.exit(res.statusCode === 200 ? 0 : 1),
);
req.on('timeout', () => req.destroy());
req.on('error', () => process.exit(1));
req.end();
