import { z } from 'zod';
import type { ConfigIssue } from './config.js';

/** `REDIS_URL`: one URL, or (with `REDIS_CLUSTER`) comma-separated seed nodes; later ones may omit the scheme. */
export const redisUrlText = z.string().refine(
  (v) =>
    v.split(',').every((part, i) => {
      try {
        const url = i > 0 && !part.includes('://') ? `redis://${part.trim()}` : part.trim();
        return ['redis:', 'rediss:'].includes(new URL(url).protocol);
      } catch {
        return false;
      }
    }),
  { message: 'expected a URL like redis://127.0.0.1:6379 (with REDIS_CLUSTER, a comma-separated list)' },
);

/** `WORKERS`: a count, or `auto` for one per CPU. */
export const workersText = z
  .string()
  .trim()
  .toLowerCase()
  .refine((v) => v === 'auto' || (/^\d+$/.test(v) && Number(v) >= 1 && Number(v) <= 256), {
    message: 'expected auto or a whole number from 1 to 256',
  })
  .transform((v): number | 'auto' => (v === 'auto' ? 'auto' : Number(v)));

/** The checks between the scale-out variables: one issue (one line) for each combination that cannot work. */
export function scaleOutIssues(p: {
  workers: number | 'auto' | undefined;
  redisUrl: string | undefined;
  redisCluster: boolean | undefined;
}): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  if (p.workers !== undefined && p.workers !== 1 && p.redisUrl === undefined) {
    issues.push({
      variable: 'WORKERS',
      value: String(p.workers),
      allowed: 'more than one worker needs REDIS_URL (workers share rooms and limits through Redis)',
    });
  }
  if (p.redisUrl?.includes(',') && p.redisCluster !== true) {
    issues.push({
      variable: 'REDIS_URL',
      value: p.redisUrl,
      allowed: 'a list of seed nodes needs REDIS_CLUSTER=true',
    });
  }
  return issues;
}
