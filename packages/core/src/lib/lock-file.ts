import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { KeyswitchError } from '../errors.js';

/** Lock files this process holds, released when the process exits. */
const held = new Set<string>();
let exitHookInstalled = false;

/** How long a lock file may stay empty (its creator between creating and writing it) before it counts as stale. */
const EMPTY_LOCK_GRACE_MS = 5_000;

function releaseAllOnExit(): void {
  for (const lockPath of held) releaseIfOurs(lockPath);
}

function readHolder(lockPath: string): number | undefined | 'gone' {
  let text: string;
  try {
    text = readFileSync(lockPath, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'gone';
    throw error;
  }
  const pid = Number.parseInt(text.trim(), 10);
  return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function releaseIfOurs(lockPath: string): void {
  held.delete(lockPath);
  try {
    if (readHolder(lockPath) === process.pid) unlinkSync(lockPath);
  } catch {
    // Already gone, or unreadable: nothing of ours to remove.
  }
}

/** An exclusive claim on a file (a keystore, an audit log), by a lock file holding the owner's pid. */
export interface LockFile {
  /** The lock file's path: `<file>.lock`. */
  readonly path: string;
  /** Removes the lock file, if it is still ours. Idempotent. */
  release(): void;
}

/** What the lock protects, for LOCKED messages: `keystore /var/ks`, `audit file audit.jsonl`. */
export interface LockFileOptions {
  /** How the file is named in messages, such as `keystore` or `audit file`. */
  readonly what: string;
  /** What to suggest when a live process holds it. */
  readonly hint?: string;
}

/**
 * Takes the lock file `<file>.lock`, created with O_EXCL and holding this process's pid. A lock whose
 * process is dead (or is this process's pid left over from a previous life, as with pid 1 in a restarted
 * container) is taken over. The lock is released by `release()` and, failing that, when the process exits;
 * after a crash the next opener takes it over.
 *
 * @throws LOCKED naming the file and the holder's pid when a live process (this one included) holds it
 * @example
 * ```ts
 * const lock = await acquireLockFile('/var/lib/app/dev.keystore', { what: 'keystore' });
 * try { await rewrite(); } finally { lock.release(); }
 * ```
 */
export async function acquireLockFile(file: string, options: LockFileOptions): Promise<LockFile> {
  const lockPath = `${file}.lock`;
  const locked = (holder: string) =>
    new KeyswitchError('LOCKED', `${options.what} ${file} is locked by ${holder}`);
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      const fd = openSync(lockPath, 'wx', 0o600);
      try {
        writeSync(fd, `${process.pid}\n`);
      } finally {
        closeSync(fd);
      }
      held.add(lockPath);
      if (!exitHookInstalled) {
        process.on('exit', releaseAllOnExit);
        exitHookInstalled = true;
      }
      return { path: lockPath, release: () => releaseIfOurs(lockPath) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = readHolder(lockPath);
    if (holder === 'gone') continue;
    if (holder === undefined) {
      const age = await stat(lockPath).then(
        (stats) => Date.now() - stats.mtimeMs,
        () => Infinity,
      );
      if (age < EMPTY_LOCK_GRACE_MS) throw locked('another process that is opening it');
    } else if (holder === process.pid && held.has(lockPath)) {
      throw locked(`this process (pid ${holder}); close the other user of it first`);
    } else if (holder !== process.pid && isAlive(holder)) {
      throw locked(`process ${holder}${options.hint ? `; ${options.hint}` : ''}`);
    }
    // Stale: its holder is dead. Remove it if it is still the same stale file, then try again.
    if (readHolder(lockPath) === holder) {
      try {
        unlinkSync(lockPath);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
    }
  }
  throw locked('other processes contending for it');
}
