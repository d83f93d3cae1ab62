import { z } from 'zod';
import type { ConfigIssue } from './config.js';

/** A comma-separated list of ICE URLs whose scheme is one of `schemes` (`STUN_URLS`, `TURN_URLS`). */
export function iceUrlList(schemes: readonly string[]) {
  return z
    .string()
    .transform((v) =>
      v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    )
    .refine((list) => list.every((url) => schemes.some((scheme) => url.startsWith(`${scheme}:`))), {
      message: `expected comma-separated URLs starting with ${schemes.map((s) => `${s}:`).join(' or ')}`,
    });
}

/** `TURN_SECRET`: one or more comma-separated shared secrets; the first signs, all are current. */
export const turnSecretText = z
  .string()
  .transform((v) =>
    v
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  )
  .refine((list) => list.length > 0, { message: 'expected one or more comma-separated secrets' });

/** TURN URLs need a secret to sign credentials with; a secret without URLs signs nothing. */
export function iceIssues(p: { turnUrls: readonly string[]; turnSecrets: readonly string[] }): ConfigIssue[] {
  if (p.turnUrls.length > 0 && p.turnSecrets.length === 0)
    return [
      {
        variable: 'TURN_SECRET',
        value: '',
        allowed: 'TURN_URLS needs TURN_SECRET (the static-auth-secret of coturn) to sign credentials',
      },
    ];
  return [];
}
