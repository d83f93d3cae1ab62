import { existsSync, readFileSync } from 'node:fs';
import { parseEnv } from 'node:util';
import type { Environment } from './config.js';

/**
 * The process environment merged over the variables in `.env` (the environment wins).
 * The one place in the server that reads `process.env`. A missing `.env` is not an error.
 */
export function readEnvironment(dotenvPath = '.env', processEnv: Environment = process.env): Environment {
  const fromFile = existsSync(dotenvPath) ? parseEnv(readFileSync(dotenvPath, 'utf8')) : {};
  return Object.freeze({ ...fromFile, ...processEnv });
}
