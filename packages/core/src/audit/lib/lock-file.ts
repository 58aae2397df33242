import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { KeyswitchError } from '../../errors.js';

/** An exclusive claim on an audit file for appending: `<file>.lock` holding the owner's pid. */
export interface AppendLock {
  release(): void;
}

const held = new Set<string>();
let exitHookInstalled = false;

/**
 * Takes `<file>.lock` with O_EXCL. A lock whose process is dead is taken over.
 *
 * @throws LOCKED naming the holder when a live process (this one included) holds it
 */
export function acquireAppendLock(file: string): AppendLock {
  const lockPath = `${file}.lock`;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(lockPath, 'wx', 0o600);
      try {
        writeSync(fd, `${process.pid}\n`);
      } finally {
        closeSync(fd);
      }
      held.add(lockPath);
      if (!exitHookInstalled) {
        exitHookInstalled = true;
        process.on('exit', () => {
          for (const path of held) release(path);
        });
      }
      return { release: () => release(lockPath) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = readPid(lockPath);
    if (holder !== undefined && (held.has(lockPath) || (holder !== process.pid && isAlive(holder)))) {
      throw new KeyswitchError(
        'LOCKED',
        `audit file ${file} is being appended to by ${holder === process.pid ? 'another sink in this process' : `process ${holder}`}; one process, one sink per file`,
      );
    }
    try {
      unlinkSync(lockPath); // stale: its process is gone
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  throw new KeyswitchError('LOCKED', `audit file ${file} is contended by other processes`);
}

function release(lockPath: string): void {
  held.delete(lockPath);
  try {
    if (readPid(lockPath) === process.pid) unlinkSync(lockPath);
  } catch {
    // Already gone.
  }
}

function readPid(lockPath: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(lockPath, 'utf8').trim(), 10);
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
