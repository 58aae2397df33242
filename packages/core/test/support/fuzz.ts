import fc from 'fast-check';
import { isKeyswitchError, type KeyswitchError } from '../../src/index.js';

/**
 * fast-check parameters for the fuzz suite: a bounded number of runs (raise it with
 * KEYSWITCH_FUZZ_RUNS for a longer session), a seed from KEYSWITCH_FUZZ_SEED to replay one, and on
 * failure fast-check's report: the seed, the path and the shrunk counterexample.
 */
export function fuzzParameters<T>(runs: number): fc.Parameters<T> {
  const seed = process.env.KEYSWITCH_FUZZ_SEED;
  const scaled = Number(process.env.KEYSWITCH_FUZZ_RUNS ?? '');
  return {
    numRuns: Number.isSafeInteger(scaled) && scaled > 0 ? scaled : runs,
    ...(seed === undefined || seed === '' ? {} : { seed: Number(seed) }),
  };
}

/** What one input ended in: a result, or a typed KeyswitchError. */
export type Outcome<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: KeyswitchError };

/**
 * Runs `body` and returns its outcome. Anything thrown that is not a KeyswitchError (a TypeError, a
 * RangeError, a raw asn1 or platform error) is rethrown, failing the property with it.
 */
export async function outcome<T>(body: () => T | Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await body() };
  } catch (error) {
    if (isKeyswitchError(error)) return { ok: false, error };
    throw error;
  }
}

/** The same, for synchronous code. */
export function outcomeSync<T>(body: () => T): Outcome<T> {
  try {
    return { ok: true, value: body() };
  } catch (error) {
    if (isKeyswitchError(error)) return { ok: false, error };
    throw error;
  }
}

/** Byte strings that start from `valid` and change it: flip, insert, delete, truncate, extend. */
export function mutatedBytes(valid: Uint8Array): fc.Arbitrary<Uint8Array> {
  const edit = fc.oneof(
    fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
    fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
    fc.record({
      kind: fc.constant('insert' as const),
      at: fc.nat(),
      value: fc.integer({ min: 0, max: 255 }),
    }),
    fc.record({ kind: fc.constant('delete' as const), at: fc.nat() }),
    fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  );
  return fc.array(edit, { minLength: 1, maxLength: 4 }).map((edits) => {
    let bytes = [...valid];
    for (const change of edits) {
      const at = bytes.length === 0 ? 0 : change.at % bytes.length;
      if (change.kind === 'flip' && bytes.length > 0) bytes[at] = bytes[at]! ^ (1 << change.bit);
      else if (change.kind === 'set' && bytes.length > 0) bytes[at] = change.value;
      else if (change.kind === 'insert') bytes.splice(at, 0, change.value);
      else if (change.kind === 'delete') bytes.splice(at, 1);
      else if (change.kind === 'truncate') bytes = bytes.slice(0, at);
    }
    return Uint8Array.from(bytes);
  });
}

/** Strings that start from `valid` and change it, one character at a time. */
export function mutatedText(
  valid: string,
  alphabet: fc.Arbitrary<string> = fc.string({ maxLength: 3 }),
): fc.Arbitrary<string> {
  const edit = fc.record({ at: fc.nat(), remove: fc.integer({ min: 0, max: 3 }), insert: alphabet });
  return fc.array(edit, { minLength: 1, maxLength: 4 }).map((edits) => {
    let text = valid;
    for (const change of edits) {
      const at = text.length === 0 ? 0 : change.at % (text.length + 1);
      text = text.slice(0, at) + change.insert + text.slice(at + change.remove);
    }
    return text;
  });
}
