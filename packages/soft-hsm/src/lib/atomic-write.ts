import { randomBytes } from 'node:crypto';
import { open, readdir, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * TEST ONLY. When set to a number of milliseconds, every keystore write pauses that long between
 * writing and syncing the temporary file and renaming it over the keystore, so that crash-safety tests
 * can kill a process mid-write. Never set it outside tests.
 */
export const PAUSE_BEFORE_RENAME_ENV = 'KEYSWITCH_SOFTHSM_TEST_PAUSE_BEFORE_RENAME_MS';

function tempPrefix(file: string): string {
  return `.${basename(file)}.`;
}

/**
 * Replaces `file` with `data` so that a crash at any point leaves either the old or the new contents:
 * write a temporary file in the same directory, fsync it, rename it over `file`, fsync the directory.
 * New files are readable by the owner only.
 */
export async function writeFileAtomic(file: string, data: Uint8Array): Promise<void> {
  const directory = dirname(file);
  const temp = join(directory, `${tempPrefix(file)}${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(temp, 'wx', 0o600);
  try {
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    const pause = Number(process.env[PAUSE_BEFORE_RENAME_ENV] ?? 0);
    if (pause > 0) await sleep(pause);
    await rename(temp, file);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw error;
  }
  // The rename is the commit point: the new contents are the file now. A failed directory sync only
  // weakens durability across a power cut, so it is reported, not thrown (a throw would make the caller
  // keep its old state while the disk holds the new one).
  await syncDirectory(directory).catch((error: unknown) => {
    process.emitWarning(
      `[keyswitch] [soft-hsm] ${file} was written, but its directory could not be synced (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
      'KeyswitchDurabilityWarning',
    );
  });
}

/** Makes a rename in `directory` durable. Some platforms cannot open a directory for syncing; skip there. */
async function syncDirectory(directory: string): Promise<void> {
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(directory, 'r');
    await handle.sync();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'EPERM' && code !== 'EINVAL') throw error;
  } finally {
    await handle?.close();
  }
}

/** Removes temporary files that a writer killed mid-write left next to `file`. Call only while holding the lock. */
export async function removeLeftoverTempFiles(file: string): Promise<void> {
  const prefix = tempPrefix(file);
  const names = await readdir(dirname(file)).catch(() => [] as string[]);
  await Promise.all(
    names
      .filter((name) => name.startsWith(prefix) && /^\d+\.[0-9a-f]{12}\.tmp$/.test(name.slice(prefix.length)))
      .map((name) => unlink(join(dirname(file), name)).catch(() => undefined)),
  );
}
