import { readFileSync } from 'node:fs';
import type { Config } from './config/config.js';

/**
 * File descriptors the process needs besides its WebSockets: listening sockets, the log, Redis
 * connections, the users file, TLS material, HTTP requests in flight. Generous on purpose.
 */
export const RESERVED_FILE_DESCRIPTORS = 64;

/** The process's open-file limit (`ulimit -n`); null where unlimited. */
export interface OpenFileLimit {
  readonly soft: number | null;
  readonly hard: number | null;
}

/** What start-up logs about the limit: one line, a warning when it is too low for the configuration. */
export interface OpenFileReport {
  readonly level: 'info' | 'warn';
  readonly fields: {
    readonly open_files_soft: number | null;
    readonly open_files_hard: number | null;
    readonly connections_allowed: number | null;
  };
  readonly message: string;
}

/** The "Max open files" line of Linux's `/proc/self/limits`; null when the text has none. */
export function parseOpenFileLimit(limitsText: string): OpenFileLimit | null {
  const match = /^Max open files\s+(\S+)\s+(\S+)/m.exec(limitsText);
  if (!match) return null;
  const value = (text: string | undefined) =>
    text === undefined || text === 'unlimited' ? null : Number(text);
  return { soft: value(match[1]), hard: value(match[2]) };
}

/** Reads this process's limit; null where there is no `/proc/self/limits` (not Linux). */
export function readOpenFileLimit(path = '/proc/self/limits'): OpenFileLimit | null {
  try {
    return parseOpenFileLimit(readFileSync(path, 'utf8'));
  } catch {
    return null;
  }
}

/**
 * How many WebSocket connections the soft limit allows (one descriptor each, after
 * `RESERVED_FILE_DESCRIPTORS`), and a warning when that is fewer than one client address may open
 * (`MAX_CONNECTIONS_PER_IP`): past the limit, accept() fails and new clients cannot connect at all.
 */
export function openFileReport(
  limit: OpenFileLimit,
  config: Pick<Config, 'maxConnectionsPerIp'>,
): OpenFileReport {
  const allowed = limit.soft === null ? null : Math.max(0, limit.soft - RESERVED_FILE_DESCRIPTORS);
  const fields = {
    open_files_soft: limit.soft,
    open_files_hard: limit.hard,
    connections_allowed: allowed,
  };
  if (allowed === null) {
    return { level: 'info', fields, message: 'open-file limit: unlimited' };
  }
  const base = `open-file limit ${limit.soft} allows about ${allowed} WebSocket connections`;
  if (allowed >= config.maxConnectionsPerIp) return { level: 'info', fields, message: base };
  const raise =
    limit.hard === null || limit.hard > (limit.soft ?? 0)
      ? `raise it (ulimit -n, up to the hard limit ${limit.hard ?? 'unlimited'}; LimitNOFILE= under systemd)`
      : 'raise the hard limit (LimitNOFILE= under systemd, --ulimit nofile= for containers)';
  return {
    level: 'warn',
    fields,
    message: `${base}, fewer than MAX_CONNECTIONS_PER_IP=${config.maxConnectionsPerIp} allows one address; ${raise}`,
  };
}
