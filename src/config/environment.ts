import { existsSync, readFileSync } from 'node:fs';
import { parseEnv } from 'node:util';
import { CONFIG_VARIABLES, type Environment } from './config.js';

/**
 * The process environment merged over the variables in `.env` (the environment wins).
 * The one place in the server that reads `process.env`. A missing `.env` is not an error.
 */
export function readEnvironment(dotenvPath = '.env', processEnv: Environment = process.env): Environment {
  const fromFile = existsSync(dotenvPath) ? parseEnv(readFileSync(dotenvPath, 'utf8')) : {};
  return Object.freeze({ ...fromFile, ...processEnv });
}

/**
 * Variables `.env` sets that the server does not read (a typo, or a setting of another program),
 * each with the known name it most likely meant, if one is close. Empty without a `.env`.
 */
export function unknownDotenvVariables(dotenvPath = '.env'): { name: string; suggestion: string | null }[] {
  if (!existsSync(dotenvPath)) return [];
  const known = new Set(CONFIG_VARIABLES);
  return Object.keys(parseEnv(readFileSync(dotenvPath, 'utf8')))
    .filter((name) => !known.has(name))
    .map((name) => ({ name, suggestion: closest(name, CONFIG_VARIABLES) }));
}

/** The candidate within a few edits of `name` (a typo), or null. */
function closest(name: string, candidates: readonly string[]): string | null {
  let best: string | null = null;
  let bestDistance = Math.max(2, Math.floor(name.length / 5)) + 1;
  for (const candidate of candidates) {
    const distance = editDistance(name.toUpperCase(), candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= b.length; j += 1)
      current[j] = Math.min(
        previous[j]! + 1,
        current[j - 1]! + 1,
        previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    previous = current;
  }
  return previous[b.length]!;
}
