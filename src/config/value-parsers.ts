import { z } from 'zod';
import type { IceServer, TrustProxy } from './config.js';

// The parsers of single environment values, shared by every group of variables.

/** `true`/`false` and the usual spellings (1/0, yes/no, on/off). */
export const booleanText = z
  .string()
  .trim()
  .toLowerCase()
  .refine((v) => ['true', 'false', '1', '0', 'yes', 'no', 'on', 'off'].includes(v), {
    message: 'expected true or false',
  })
  .transform((v) => ['true', '1', 'yes', 'on'].includes(v));

/** A whole number from `min` to `max`. */
export function integer(min: number, max: number) {
  return z
    .string()
    .trim()
    .regex(/^\d+$/, { message: `expected a whole number from ${min} to ${max}` })
    .transform(Number)
    .refine((n) => n >= min && n <= max, { message: `expected a whole number from ${min} to ${max}` });
}

/** Comma-separated origins (`CORS_ORIGINS`), each scheme://host[:port] without a path. */
export const originText = z
  .string()
  .transform((v) =>
    v
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s.length > 0),
  )
  .refine((list) => list.every(isOrigin), {
    message: 'expected comma-separated origins like https://app.example.com (scheme://host[:port], no path)',
  })
  .transform((list) => list.map((o) => new URL(o).origin));

/** True for an origin: http(s)://host[:port], nothing after it. */
export function isOrigin(value: string): boolean {
  try {
    const url = new URL(value);
    return (
      (url.protocol === 'http:' || url.protocol === 'https:') &&
      url.pathname === '/' &&
      url.search === '' &&
      url.hash === '' &&
      url.username === '' &&
      !value.replace(/\/$/, '').includes('/', url.protocol.length + 2)
    );
  } catch {
    return false;
  }
}

/** `TRUST_PROXY`: false, true (one hop), a hop count, or proxy addresses and CIDRs. */
export const trustProxyText = z.string().transform((value, ctx): TrustProxy => {
  const v = value.trim();
  const lower = v.toLowerCase();
  if (['false', '0', 'no', 'off', ''].includes(lower)) return { kind: 'none' };
  if (['true', 'yes', 'on'].includes(lower)) return { kind: 'hops', hops: 1 };
  if (/^\d+$/.test(v)) return { kind: 'hops', hops: Number(v) };
  const addresses = v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (addresses.every((a) => /^[0-9a-fA-F:.]+(\/\d{1,3})?$/.test(a))) return { kind: 'addresses', addresses };
  ctx.addIssue({
    code: 'custom',
    message: 'expected true, false, a hop count, or comma-separated proxy IPs/CIDRs',
  });
  return z.NEVER;
});

/** `ICE_SERVERS`: a JSON array of RTCIceServer entries. */
export const iceServersText = z.string().transform((value, ctx): readonly IceServer[] => {
  const iceServer = z.object({
    urls: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
    username: z.string().optional(),
    credential: z.string().optional(),
  });
  try {
    const parsed = z.array(iceServer).safeParse(JSON.parse(value));
    if (parsed.success) return parsed.data;
  } catch {
    // reported below
  }
  ctx.addIssue({
    code: 'custom',
    message: 'expected a JSON array like [{"urls":"stun:stun.example.org:3478"}]',
  });
  return z.NEVER;
});

/** A secret that, when set, must not be empty. */
export const secretText = z.string().min(1, { message: 'must not be empty when set' });

/**
 * An unset or empty variable takes `fallback`, written as a user would write it, and goes through
 * the same parser as a set value.
 */
export function withDefault<T extends z.ZodType<unknown, string>>(fallback: string, schema: T) {
  return z
    .string()
    .optional()
    .transform((text) => (text === undefined || text === '' ? fallback : text))
    .pipe(schema);
}
