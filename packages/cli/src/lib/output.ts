import type { OutputStream } from './io.js';

/**
 * The `--json` option every command shares: the same flag text everywhere, and one place that says how
 * JSON is written. Each command adds it with `.option(...JSON_OPTION)` and prints its result with
 * {@link writeJson}; errors are printed by `main` as {@link errorJson}.
 *
 * @example
 * ```ts
 * program.command('sign').option(...JSON_OPTION);
 * ```
 */
export const JSON_OPTION = [
  '--json',
  'print the result, or the error, as one JSON document on stdout',
] as const;

/**
 * Whether the command line asks for JSON (`--json` anywhere before a `--`). Read from argv, not from a
 * command's options, so that errors raised before a command runs (usage, configuration) are JSON too.
 *
 * @example
 * ```ts
 * wantsJson(['node', 'keyswitch', 'keys', 'list', '--json']); // true
 * ```
 */
export function wantsJson(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end === -1 ? argv : argv.slice(0, end)).includes('--json');
}

/**
 * Writes one JSON document on one line (binary values must be encoded by the caller).
 *
 * @example
 * ```ts
 * writeJson(context.io.stdout, { valid: true });
 * ```
 */
export function writeJson(stream: OutputStream, value: unknown): void {
  stream.write(`${JSON.stringify(value)}\n`);
}

/**
 * The JSON form of an error: `{"error":{"code","message"}}`, the same for every command.
 *
 * @example
 * ```ts
 * writeJson(io.stdout, errorJson({ code: 'KEY_NOT_FOUND', message: 'key "acs-signing" not found' }));
 * ```
 */
export function errorJson(failure: { readonly code: string; readonly message: string }): {
  error: { code: string; message: string };
} {
  return { error: { code: failure.code, message: failure.message } };
}
