import { randomBytes } from 'node:crypto';
import { link, mkdir, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * Writes `data` to `path` so that readers only ever see the old or the new content: a temp file in
 * the same directory (created with `mode`), fsync, rename over the target, fsync the directory.
 * The temp file is removed if anything fails. Parent directories are created as needed.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o600): Promise<void> {
  const { dir, temp } = await writeTemp(path, data, mode);
  try {
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
  await syncDirectory(dir);
}

/**
 * Creates `path` with `data` only if it does not exist yet, atomically: a complete temp file is
 * hard-linked into place (which fails when `path` exists), so no reader sees a partial file and of
 * writers racing, exactly one wins. Resolves true when this call created it, false when it existed.
 */
export async function createFileExclusive(
  path: string,
  data: string | Uint8Array,
  mode = 0o600,
): Promise<boolean> {
  const { dir, temp } = await writeTemp(path, data, mode);
  try {
    await link(temp, path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    await rm(temp, { force: true });
  }
  await syncDirectory(dir);
  return true;
}

async function writeTemp(
  path: string,
  data: string | Uint8Array,
  mode: number,
): Promise<{ dir: string; temp: string }> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true });
  const temp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(temp, 'wx', mode);
  try {
    await handle.writeFile(data);
    await handle.chmod(mode);
    await handle.sync();
  } catch (error) {
    await handle.close();
    await rm(temp, { force: true });
    throw error;
  }
  await handle.close();
  return { dir, temp };
}

async function syncDirectory(dir: string): Promise<void> {
  // A directory fsync makes the rename durable; some filesystems refuse it, which is harmless.
  try {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // not supported here
  }
}
