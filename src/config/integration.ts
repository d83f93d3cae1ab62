import { z } from 'zod';
import { jwtKeyProblem } from '../auth/jwt-key.js';
import type { ConfigIssue } from './config.js';

function integer(min: number, max: number) {
  const message = `expected a whole number from ${min} to ${max}`;
  return z
    .string()
    .trim()
    .regex(/^\d+$/, { message })
    .transform(Number)
    .refine((n) => n >= min && n <= max, { message });
}

// As in config.ts: an unset or empty variable takes `fallback`, parsed like a set value.
function withDefault<T extends z.ZodType<unknown, string>>(fallback: string, schema: T) {
  return z
    .string()
    .optional()
    .transform((text) => (text === undefined || text === '' ? fallback : text))
    .pipe(schema);
}

function isHttpUrl(value: string): boolean {
  try {
    return ['http:', 'https:'].includes(new URL(value).protocol);
  } catch {
    return false;
  }
}

const urlText = z.string().trim().refine(isHttpUrl, { message: 'expected an http:// or https:// URL' });
const urlListText = z
  .string()
  .transform((v) =>
    v
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  )
  .refine((list) => list.every(isHttpUrl), {
    message: 'expected comma-separated http:// or https:// URLs',
  });

/** The variables of "Connecting your backend" (webhooks, join hook), in documentation order. */
export const INTEGRATION_ENVIRONMENT = {
  WEBHOOK_URLS: urlListText.optional(),
  WEBHOOK_SECRET: z.string().min(1, { message: 'must not be empty when set' }).optional(),
  WEBHOOK_QUEUE_SIZE: withDefault('1000', integer(1, 1_000_000)),
  WEBHOOK_TIMEOUT_MS: withDefault('5000', integer(100, 120_000)),
  WEBHOOK_MAX_ATTEMPTS: withDefault('6', integer(1, 100)),
  JOIN_HOOK_URL: urlText.optional(),
  JOIN_HOOK_TIMEOUT_MS: withDefault('1000', integer(50, 60_000)),
  JOIN_HOOK_FAIL: withDefault(
    'closed',
    z
      .string()
      .trim()
      .toLowerCase()
      .pipe(z.enum(['closed', 'open'], { message: 'expected closed or open' })),
  ),
};

type IntegrationEnvironment = z.output<z.ZodObject<typeof INTEGRATION_ENVIRONMENT>>;

/** The settings as the server uses them, spread into `Config`. */
export function integrationSettings(env: IntegrationEnvironment) {
  return {
    /** Where room and peer events are POSTed; empty: no webhooks. */
    webhookUrls: Object.freeze([...(env.WEBHOOK_URLS ?? [])]),
    /** HS256 key of the webhook and join hook signatures; never logged. */
    webhookSecret: env.WEBHOOK_SECRET ?? null,
    webhookQueueSize: env.WEBHOOK_QUEUE_SIZE,
    webhookTimeoutMs: env.WEBHOOK_TIMEOUT_MS,
    webhookMaxAttempts: env.WEBHOOK_MAX_ATTEMPTS,
    /** Asked before each join; null: no join hook. */
    joinHookUrl: env.JOIN_HOOK_URL ?? null,
    joinHookTimeoutMs: env.JOIN_HOOK_TIMEOUT_MS,
    /** What a join hook that times out or fails means: refuse the join (`closed`) or accept it. */
    joinHookFail: env.JOIN_HOOK_FAIL,
  };
}

/**
 * Combinations that cannot work: hooks without a secret to sign them, or a short secret (its value
 * redacted). Read from the raw environment, so they are reported along with every other problem.
 */
export function integrationIssues(env: Readonly<Record<string, string | undefined>>): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const secret = env['WEBHOOK_SECRET'] || undefined;
  const needsSecret = Boolean(env['WEBHOOK_URLS']?.trim() || env['JOIN_HOOK_URL']?.trim());
  if (needsSecret && secret === undefined)
    issues.push({
      variable: 'WEBHOOK_SECRET',
      value: '',
      allowed: 'WEBHOOK_URLS and JOIN_HOOK_URL need a WEBHOOK_SECRET to sign their requests',
    });
  const problem = secret === undefined ? undefined : jwtKeyProblem(secret);
  if (problem !== undefined)
    issues.push({
      variable: 'WEBHOOK_SECRET',
      value: '<redacted>',
      allowed: problem.replace('JWT', 'webhook'),
    });
  return issues;
}
