import { resolve } from 'node:path';
import { KeyswitchError } from '../../errors.js';
import { requireObject, requireString } from '../../lib/argument-shape.js';

/**
 * The absolute path of the file `AuditFileSink.open` was asked to write, once its arguments are checked:
 * the path a non-empty string, the options an object with a known `fsync`.
 *
 * @throws INVALID_INPUT naming the argument that is wrong
 *
 * @example
 * ```ts
 * const file = checkedSinkFile('audit/keyswitch.jsonl', { fsync: 'interval' });
 * ```
 */
export function checkedSinkFile(path: string, options: { readonly fsync?: string }): string {
  const { fsync } = requireObject(options, 'AuditFileSink options');
  if (!['always', 'interval', 'never', undefined].includes(fsync)) {
    throw new KeyswitchError('INVALID_INPUT', 'fsync must be "always", "interval" or "never"');
  }
  return resolve(requireString(path, 'the audit file path'));
}
