import { KeyswitchError } from '../../errors.js';

/**
 * How deep an audit record may nest: the record object is level 1, its event level 2, and so on. Audit
 * events are flat (a keyring event nests two or three levels); the cap keeps canonicalization's
 * recursion, and so its stack, bounded whatever a line holds.
 */
export const MAX_RECORD_DEPTH = 64;

/**
 * Canonical JSON for hashing (RFC 8785 for the values audit records hold): object keys sorted by UTF-16
 * code units, no whitespace, strings and numbers as `JSON.stringify` writes them (ECMAScript's shortest
 * round-trip form). Input must already be plain JSON (as `JSON.parse` returns).
 *
 * @param levels - how many levels of objects and arrays `value` may nest (the recursion never goes deeper)
 * @throws INVALID_INPUT when `value` nests deeper than `levels`; TypeError for a non-finite number
 * @example
 * ```ts
 * canonicalJson({ b: 1, a: [true, 'x'] }); // '{"a":[true,"x"],"b":1}'
 * ```
 */
export function canonicalJson(value: unknown, levels = MAX_RECORD_DEPTH): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) throw new TypeError('non-finite number');
    return JSON.stringify(value);
  }
  if (levels < 1) {
    throw new KeyswitchError('INVALID_INPUT', `an audit record nests deeper than ${MAX_RECORD_DEPTH} levels`);
  }
  const inner = levels - 1;
  if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item, inner)).join(',')}]`;
  const keys = Object.keys(value).sort();
  return `{${keys
    .map((key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key], inner)}`)
    .join(',')}}`;
}

/**
 * Whether {@link canonicalJson} can serialize `value` (plain JSON, as `JSON.parse` returns): it nests at
 * most `levels` levels of objects and arrays, and holds no non-finite number (`JSON.parse` reads `1e999`
 * as Infinity). Looks no deeper than `levels`, so its recursion is bounded too.
 *
 * @example
 * ```ts
 * canonicalizable({ a: [1] }, 2); // true
 * canonicalizable({ a: [[1]] }, 2); // false
 * canonicalizable(JSON.parse('{"a":1e999}'), 2); // false
 * ```
 */
export function canonicalizable(value: unknown, levels: number): boolean {
  if (value === null || typeof value !== 'object') return typeof value !== 'number' || Number.isFinite(value);
  if (levels < 1) return false;
  const items = Array.isArray(value) ? value : Object.values(value);
  for (const item of items) if (!canonicalizable(item, levels - 1)) return false;
  return true;
}
