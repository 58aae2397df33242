import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { childScript } from './built-package.js';

/** A child process running `fixtures/keystore-child.mjs`, with its JSON output lines. */
export interface Child {
  readonly process: ChildProcess;
  /** Every line the child has printed so far, parsed. */
  readonly lines: Record<string, unknown>[];
  /** Resolves with the next line that satisfies `predicate`. */
  next(predicate?: (line: Record<string, unknown>) => boolean): Promise<Record<string, unknown>>;
  /** Resolves when the child has exited. */
  readonly exited: Promise<void>;
}

/** Starts the child script in `mode` on `keystore`. */
export function startChild(
  mode: string,
  keystore: string,
  passphrase: string,
  env: Record<string, string> = {},
): Child {
  const child = spawn(process.execPath, [childScript, mode, keystore], {
    env: { ...process.env, ...env, KEYSTORE_PASSPHRASE: passphrase },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Record<string, unknown>[] = [];
  const waiters: {
    predicate: (line: Record<string, unknown>) => boolean;
    resolve: (line: Record<string, unknown>) => void;
  }[] = [];
  let stderr = '';
  child.stderr!.on('data', (chunk) => {
    stderr += chunk;
  });
  createInterface({ input: child.stdout! }).on('line', (text) => {
    const line = JSON.parse(text) as Record<string, unknown>;
    lines.push(line);
    for (const waiter of [...waiters]) {
      if (waiter.predicate(line)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(line);
      }
    }
  });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  return {
    process: child,
    lines,
    exited,
    next(predicate = () => true) {
      const seen = lines.find(predicate);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        waiters.push({ predicate, resolve });
        exited.then(() =>
          setTimeout(
            () => reject(new Error(`child exited without the expected line; stderr: ${stderr}`)),
            50,
          ),
        );
      });
    },
  };
}
