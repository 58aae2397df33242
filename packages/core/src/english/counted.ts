/**
 * A count followed by its noun in the right number: "1 record", "0 records", "3 records".
 *
 * @param count - How many.
 * @param singular - The noun for one ("record", "key", "check").
 * @param plural - The noun for any other count; the singular with an "s" unless given.
 * @returns The count, a space, and the noun.
 * @example
 * ```ts
 * import { counted } from '@keyswitch/core';
 *
 * counted(1, 'record'); // '1 record'
 * counted(3, 'record'); // '3 records'
 * counted(2, 'index', 'indices'); // '2 indices'
 * ```
 */
export function counted(count: number, singular: string, plural = `${singular}s`): string {
  return `${count} ${count === 1 ? singular : plural}`;
}
