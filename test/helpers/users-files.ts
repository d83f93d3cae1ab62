import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import type { UserRecord } from '../../src/auth/user-store.js';
import { parseUsersCsv } from '../../src/auth/users-csv.js';

/** Temp users-file paths for one test file: the folder is made before and removed after it. */
export interface UsersFiles {
  /** The temp folder itself. */
  readonly dir: () => string;
  /** A users.csv path in a folder of its own, not yet created. */
  readonly freshPath: () => string;
}

/** Registers the hooks and returns path makers; `prefix` names the temp folder. */
export function useUsersFiles(prefix: string): UsersFiles {
  let dir = '';
  let counter = 0;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), prefix));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  return {
    dir: () => dir,
    freshPath: () => {
      counter += 1;
      return join(dir, `case-${counter}`, 'users.csv');
    },
  };
}

/** Reads and parses a users file, failing the test when it does not parse. */
export async function readUsers(path: string): Promise<UserRecord[]> {
  const parsed = parseUsersCsv(await readFile(path, 'utf8'));
  assert.ok('users' in parsed, JSON.stringify(parsed));
  return parsed.users;
}
