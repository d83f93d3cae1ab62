import { type Stats, unwatchFile, watchFile } from 'node:fs';
import { resolve } from 'node:path';
import type { UserRecord, UserStore } from './user-store.js';
import { readUsersFile, UsersFileError } from './users-file.js';

/** Options for `CsvUserStore.open`. */
export interface CsvUserStoreOptions {
  /** How often the file is polled for changes; default 1000 ms. */
  readonly pollIntervalMs?: number;
  /** Called with the new users after each successful reload. */
  readonly onReload?: (users: readonly UserRecord[]) => void;
  /** Called when a reload finds the file unreadable or malformed; the previous users stay in service. */
  readonly onReloadError?: (errors: string[]) => void;
}

/**
 * A `UserStore` backed by a CSV users file. It polls the file (and reloads on `reload()`, which the
 * server calls on SIGHUP); a reload swaps the whole view at once, and a malformed or half-written
 * file keeps the previous users. Usernames are looked up exactly (case-sensitive).
 */
export class CsvUserStore implements UserStore {
  readonly path: string;
  private byName: ReadonlyMap<string, UserRecord>;
  private all: readonly UserRecord[];
  private readonly options: CsvUserStoreOptions;
  private queue: Promise<boolean> = Promise.resolve(true);
  private watcher: ((current: Stats, previous: Stats) => void) | undefined;
  private readonly listeners = new Set<(users: readonly UserRecord[]) => void>();
  private closed = false;

  private constructor(path: string, users: readonly UserRecord[], options: CsvUserStoreOptions) {
    this.path = path;
    this.options = options;
    this.all = Object.freeze([...users]);
    this.byName = new Map(users.map((u) => [u.username, u]));
  }

  /** Loads `path` (throwing `UsersFileError` listing each bad line) and starts watching it. */
  static async open(path: string, options: CsvUserStoreOptions = {}): Promise<CsvUserStore> {
    const absolute = resolve(path);
    const store = new CsvUserStore(absolute, await readUsersFile(absolute), options);
    store.watch(options.pollIntervalMs ?? 1000);
    return store;
  }

  /** The user named exactly `username`, or undefined. */
  find(username: string): UserRecord | undefined {
    return this.byName.get(username);
  }

  /** Every user, in file order. */
  list(): readonly UserRecord[] {
    return this.all;
  }

  /**
   * Re-reads the file now. Resolves true when the new content is in service, false when it was
   * unreadable or malformed (then `onReloadError` was called and the previous users remain).
   * Concurrent calls run one after another. Never rejects.
   */
  reload(): Promise<boolean> {
    this.queue = this.queue.then(() => this.reloadNow());
    return this.queue;
  }

  /**
   * Calls `listener` after every successful reload, once the new users are in service (the server
   * closes the connections of users who lost access). Returns a function that removes it.
   */
  onChange(listener: (users: readonly UserRecord[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Stops watching the file; the last loaded users stay readable. */
  close(): void {
    this.closed = true;
    if (this.watcher) unwatchFile(this.path, this.watcher);
    this.watcher = undefined;
  }

  private watch(intervalMs: number): void {
    this.watcher = (current, previous) => {
      if (
        current.mtimeMs === previous.mtimeMs &&
        current.ino === previous.ino &&
        current.size === previous.size
      ) {
        return;
      }
      void this.reload();
    };
    // Not persistent: watching alone must not keep a process (or a test run) alive.
    watchFile(this.path, { interval: intervalMs, persistent: false }, this.watcher);
  }

  private async reloadNow(): Promise<boolean> {
    if (this.closed) return false;
    let users: UserRecord[];
    try {
      users = await readUsersFile(this.path);
    } catch (error) {
      const errors = error instanceof UsersFileError ? [...error.errors] : [String(error)];
      this.options.onReloadError?.(errors);
      return false;
    }
    this.all = Object.freeze(users);
    this.byName = new Map(users.map((u) => [u.username, u]));
    this.options.onReload?.(this.all);
    for (const listener of this.listeners) listener(this.all);
    return true;
  }
}
