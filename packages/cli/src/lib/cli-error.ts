import { isKeyswitchError } from '@keyswitch/core';

/** Exit codes: 0 success, 1 an operation failed, 2 usage or configuration error, 130 interrupted. */
export const EXIT = { ok: 0, failure: 1, usage: 2, interrupted: 130 } as const;

/**
 * An error of the command itself (bad arguments, an unreadable input file, an interruption), with the
 * code printed on stderr and the exit code.
 */
export class CliError extends Error {
  readonly code: string;
  readonly exitCode: number;

  constructor(code: string, message: string, exitCode: number = EXIT.usage, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CliError';
    this.code = code;
    this.exitCode = exitCode;
  }
}

/** A usage error (exit 2). */
export function usageError(message: string): CliError {
  return new CliError('USAGE', message, EXIT.usage);
}

/** What to print and which exit code to give for an error thrown by a command. Never includes `cause` data. */
export function describeFailure(error: unknown): { code: string; message: string; exitCode: number } {
  if (error instanceof CliError)
    return { code: error.code, message: error.message, exitCode: error.exitCode };
  if (isKeyswitchError(error)) {
    return {
      code: error.code,
      message: errorText(error),
      exitCode: error.code === 'CONFIG_INVALID' ? EXIT.usage : EXIT.failure,
    };
  }
  if (error instanceof Error && error.name === 'AbortError') {
    return { code: 'INTERRUPTED', message: 'interrupted', exitCode: EXIT.interrupted };
  }
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return { code: 'INTERNAL', message, exitCode: EXIT.failure };
}

/** A keyswitch error's message without the `[keyswitch]` prefix (the CLI prints `keyswitch: CODE:` instead). */
export function errorText(error: Error): string {
  return error.message.replace(/^\[keyswitch\]:? ?/, '');
}
