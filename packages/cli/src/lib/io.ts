import type { ProviderFactory } from '@keyswitch/core';
import { ignoreBrokenPipe } from './broken-pipe.js';

/** Somewhere the command writes text: `process.stdout`, or a capture in tests. */
export interface OutputStream {
  write(chunk: string): unknown;
  /** A terminal gets a live progress bar; anything else gets plain lines. */
  readonly isTTY?: boolean;
  readonly columns?: number;
}

/**
 * What the command talks to. Tests pass their own to run `main` in-process; the bin uses the process's.
 */
export interface CliIo {
  readonly stdout: OutputStream;
  readonly stderr: OutputStream;
  /** What `--in -` reads (default `process.stdin`). */
  readonly stdin?: AsyncIterable<Uint8Array | string>;
  /** Environment for `KEYSWITCH_CONFIG` and secret references (default `process.env`). */
  readonly env?: NodeJS.ProcessEnv;
  /** Working directory relative paths are resolved against (default `process.cwd()`). */
  readonly cwd?: string;
  /** Aborting it is the same as Ctrl-C: long-running commands stop, clean up and exit 130. */
  readonly signal?: AbortSignal;
  /** Whether SIGINT and SIGTERM stop long-running commands (default true). */
  readonly handleSignals?: boolean;
  /**
   * Provider factories by `type`, used instead of importing the backend package: for programs that embed
   * the command with a backend of their own, and for tests.
   */
  readonly providerFactories?: Readonly<Record<string, ProviderFactory<never>>>;
}

/** The io of the running process; output to a reader that went away (`| head`) is dropped, not a crash. */
export function processIo(): CliIo {
  ignoreBrokenPipe(process.stdout);
  ignoreBrokenPipe(process.stderr);
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env: process.env,
    cwd: process.cwd(),
  };
}

/** Writes one line. */
export function writeLine(stream: OutputStream, line = ''): void {
  stream.write(`${line}\n`);
}
