import { z } from 'zod';

// First path segments the server's own routes use; a dialect mounted there would shadow them.
const RESERVED_SEGMENTS = new Set(['ws', 'api', 'auth', 'health', 'client', 'examples', 'metrics', 'docs']);
const DIALECT_PATH = /^(\/[A-Za-z0-9._~-]+)+$/;

/**
 * A dialect's mount path (`PEERJS_PATH`, `YWEBRTC_PATH`): unset takes `fallback`, empty disables the
 * dialect (null), a trailing slash is dropped.
 */
export function dialectPath(fallback: string) {
  return z
    .string()
    .optional()
    .transform((text) => (text === undefined ? fallback : text.trim().replace(/(.)\/$/, '$1')))
    .refine(
      (path) => path === '' || (DIALECT_PATH.test(path) && !RESERVED_SEGMENTS.has(path.split('/')[1] ?? '')),
      {
        message: `expected a path like ${fallback} (segments of A-Z a-z 0-9 . _ ~ -, not under /${[...RESERVED_SEGMENTS].join(', /')}), or empty to disable`,
      },
    )
    .transform((path) => (path === '' ? null : path));
}
