import { unwatchFile, watchFile } from 'node:fs';
import { readFile, rename, rm } from 'node:fs/promises';
import { isIP } from 'node:net';
import { writeFileAtomic } from '../storage/atomic-write.js';
import { normalizeIp } from './client-address.js';

const POLL_INTERVAL_MS = 1000;

/** The file beside the users file where `npm run users -- unblock` leaves its requests. */
export function unblockRequestsPath(usersFile: string): string {
  return `${usersFile}.unblock`;
}

/**
 * Asks the running server(s) using `usersFile` to lift the IP block of `address`: appends it to the
 * request file, atomically. Throws `RangeError` when `address` is not an IPv4 or IPv6 address.
 * Works from the machine itself without a token, in every mode: a server reads the file within a
 * second, lifts the block in the store in force (Redis for a fleet) and deletes the file.
 */
export async function requestUnblock(usersFile: string, address: string): Promise<void> {
  const ip = normalizeIp(address.trim());
  if (isIP(ip) === 0) throw new RangeError(`not an IP address: ${JSON.stringify(address)}`);
  const path = unblockRequestsPath(usersFile);
  const pending = await readFile(path, 'utf8').catch(() => '');
  await writeFileAtomic(path, `${pending}${ip}\n`);
}

/**
 * Watches the unblock request file of `usersFile` and hands each requested address to `unblock`.
 * A request is taken by renaming the file first, so a request written meanwhile waits for the next
 * poll instead of being lost; lines that are not addresses are skipped.
 */
export class UnblockRequests {
  readonly #path: string;
  readonly #unblock: (ip: string) => Promise<void>;
  readonly #onError: (error: unknown) => void;
  #taking = false;

  constructor(usersFile: string, unblock: (ip: string) => Promise<void>, onError: (error: unknown) => void) {
    this.#path = unblockRequestsPath(usersFile);
    this.#unblock = unblock;
    this.#onError = onError;
  }

  /** Starts polling (it does not keep the process alive) and takes a request already waiting. */
  start(): void {
    watchFile(this.#path, { interval: POLL_INTERVAL_MS, persistent: false }, () => void this.take());
    void this.take();
  }

  stop(): void {
    unwatchFile(this.#path);
  }

  /** Takes the waiting requests now; resolves with the addresses unblocked. */
  async take(): Promise<string[]> {
    if (this.#taking) return [];
    this.#taking = true;
    const taken = `${this.#path}.${process.pid}.taken`;
    try {
      await rename(this.#path, taken);
    } catch {
      this.#taking = false;
      return [];
    }
    const done: string[] = [];
    try {
      const lines = (await readFile(taken, 'utf8')).split('\n').map((l) => normalizeIp(l.trim()));
      for (const ip of lines.filter((l) => isIP(l) !== 0)) {
        await this.#unblock(ip);
        done.push(ip);
      }
    } catch (error) {
      this.#onError(error);
    } finally {
      await rm(taken, { force: true });
      this.#taking = false;
    }
    return done;
  }
}
