import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { KeyswitchError } from '../errors.js';
import { requireObject, requireString } from './argument-shape.js';
import { fileSystemError } from './file-system-error.js';

/** Lock files this process holds, released when the process exits. */
const held = new Set<string>();
let exitHookInstalled = false;

/** How long a lock file may stay empty (its creator between creating and writing it) before it counts as stale. */
const EMPTY_LOCK_GRACE_MS = 5_000;

function releaseAllOnExit(): void {
  for (const lockPath of held) releaseIfOurs(lockPath);
}

/** Who holds a lock: a pid and the host it runs on (a lock file on a shared volume can come from another host). */
interface Holder {
  readonly pid: number;
  readonly host: string;
}

const THIS_HOST = hostname();

function readHolder(lockPath: string): Holder | undefined | 'gone' {
  let text: string;
  try {
    text = readFileSync(lockPath, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'gone';
    throw error;
  }
  const [pidText = '', host = THIS_HOST] = text.trim().split(/\s+/, 2);
  const pid = Number.parseInt(pidText, 10);
  return Number.isSafeInteger(pid) && pid > 0 ? { pid, host } : undefined;
}

function isOurs(holder: Holder | undefined | 'gone'): boolean {
  return typeof holder === 'object' && holder.pid === process.pid && holder.host === THIS_HOST;
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
    if (isOurs(readHolder(lockPath))) unlinkSync(lockPath);
  } catch {
    // Already gone, or unreadable: nothing of ours to remove.
  }
}

/** An exclusive claim on a file (a keystore, an audit log), by a lock file holding the owner's pid and host. */
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
 * Takes the lock file `<file>.lock`, created with O_EXCL and holding this process's pid and host name. A
 * lock whose process is dead on this host (or is this process's pid left over from a previous life, as with
 * pid 1 in a restarted container) is taken over; a lock from another host never is. The lock is released by `release()` and, failing that, when the process exits;
 * after a crash the next opener takes it over.
 *
 * @throws LOCKED naming the file and the holder's pid when a live process (this one included) holds it;
 * CONFIG_INVALID, ACCESS_DENIED or UNAVAILABLE naming the lock file when it cannot be created (see
 * {@link fileSystemError})
 * @example
 * ```ts
 * const lock = await acquireLockFile('/var/lib/app/dev.keystore', { what: 'keystore' });
 * try { await rewrite(); } finally { lock.release(); }
 * ```
 */
export async function acquireLockFile(file: string, options: LockFileOptions): Promise<LockFile> {
  requireString(file, 'the file to lock');
  requireObject(options, 'acquireLockFile options');
  try {
    return await takeLockFile(file, options);
  } catch (error) {
    throw fileSystemError(error, { what: `${options.what} lock file`, path: `${file}.lock` });
  }
}

async function takeLockFile(file: string, options: LockFileOptions): Promise<LockFile> {
  const lockPath = `${file}.lock`;
  const locked = (holder: string) =>
    new KeyswitchError('LOCKED', `${options.what} ${file} is locked by ${holder}`);
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      const fd = openSync(lockPath, 'wx', 0o600);
      try {
        writeSync(fd, `${process.pid} ${THIS_HOST}\n`);
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
    } else if (holder.host !== THIS_HOST) {
      // Another host's process cannot be checked from here: never take its lock over.
      throw locked(
        `process ${holder.pid} on host ${holder.host}; a lock from another host is never taken over`,
      );
    } else if (isOurs(holder) && held.has(lockPath)) {
      throw locked(`this process (pid ${holder.pid}); close the other user of it first`);
    } else if (holder.pid !== process.pid && isAlive(holder.pid)) {
      throw locked(`process ${holder.pid}${options.hint ? `; ${options.hint}` : ''}`);
    }
    // Stale: its holder is dead. Remove it if it is still the same stale file, then try again.
    const again = readHolder(lockPath);
    const same =
      holder === undefined
        ? again === undefined
        : typeof again === 'object' && again.pid === holder.pid && again.host === holder.host;
    if (same) {
      try {
        unlinkSync(lockPath);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
    }
  }
  throw locked('other processes contending for it');
}
