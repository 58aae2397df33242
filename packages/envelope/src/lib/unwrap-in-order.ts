import { type EncryptionContext, isKeyswitchError, KeyswitchError } from '@keyswitch/core';
import type { KeyVersion } from './key-version.js';
import type { UnwrapCandidate } from './logical-key.js';

/** A data key one of the candidates opened, and which. */
export interface Unwrapped {
  readonly version: KeyVersion;
  readonly dataKey: Uint8Array;
}

/**
 * Opens a data key with the first candidate that answers, in order: a candidate that fails with a
 * KeyswitchError (its backend is down, slow past `timeoutMs`, its key disabled, its copy damaged) hands
 * over to the next. With one candidate its error is passed on as it is; with several, one error names
 * each candidate's code.
 *
 * @throws the single candidate's error; else the code all candidates share, or UNAVAILABLE (retryable)
 * when they differ and one was retryable, or the first candidate's code
 */
export async function unwrapInOrder(
  keyName: string,
  candidates: readonly UnwrapCandidate[],
  context: EncryptionContext | undefined,
  timeoutMs: number | undefined,
): Promise<Unwrapped> {
  const failures: { version: KeyVersion; error: KeyswitchError }[] = [];
  for (const { version, wrappedDataKey } of candidates) {
    try {
      const dataKey = await withTimeout(version.unwrap(wrappedDataKey, context), timeoutMs, version);
      return { version, dataKey };
    } catch (error) {
      if (!isKeyswitchError(error)) throw error;
      if (candidates.length === 1) throw error;
      failures.push({ version, error });
    }
  }
  const codes = new Set(failures.map((failure) => failure.error.code));
  const retryable = failures.some((failure) => failure.error.retryable);
  const code =
    codes.size === 1 ? failures[0]!.error.code : retryable ? 'UNAVAILABLE' : failures[0]!.error.code;
  throw new KeyswitchError(
    code,
    `no wrapping key opened the data key: ${failures.map((failure) => `version "${failure.version.info.id}" (${failure.version.info.provider}) ${failure.error.code}`).join('; ')}`,
    { keyName, retryable, cause: new AggregateError(failures.map((failure) => failure.error)) },
  );
}

/**
 * `work`, or UNAVAILABLE (retryable) once `timeoutMs` has passed. Key material that arrives after the
 * deadline is zeroed by `wipe` (by default the bytes themselves), not left in memory.
 *
 * @throws UNAVAILABLE naming the version and the timeout; else `work`'s own error
 */
export function withTimeout<T = Uint8Array>(
  work: Promise<T>,
  timeoutMs: number | undefined,
  version: KeyVersion,
  wipe: (late: T) => void = (late) => (late as Uint8Array).fill(0),
): Promise<T> {
  if (timeoutMs === undefined) return work;
  return new Promise<T>((resolve, reject) => {
    let done = false;
    const timer = setTimeout(() => {
      done = true;
      reject(
        new KeyswitchError(
          'UNAVAILABLE',
          `version "${version.info.id}" did not answer within ${timeoutMs} ms`,
          { keyName: version.info.keyName, provider: version.info.provider, retryable: true },
        ),
      );
    }, timeoutMs);
    work.then(
      (value) => {
        clearTimeout(timer);
        if (done) wipe(value);
        else resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        if (!done) reject(error);
      },
    );
  });
}
