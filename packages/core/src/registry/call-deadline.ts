import { KeyswitchError } from '../errors.js';

/**
 * Per-call control, accepted by every handle method: `signal` cancels the call, `timeoutMs` bounds it
 * (replicas included: the time is for the whole call, failover and all), `requestId` ties it to the
 * caller's request in audit events, spans and logs.
 *
 * @example
 * ```ts
 * const options: CallOptions = { timeoutMs: 2_000, requestId: 'txn-8f14e45f' };
 * const signature = await ks.signer('acs-signing').sign(payload, options);
 * ```
 */
export interface CallOptions {
  /** Cancels the call: it rejects at once with `ABORTED`. */
  readonly signal?: AbortSignal | undefined;
  /** The most the call may take, in milliseconds: past it, it rejects with `UNAVAILABLE` (retryable). */
  readonly timeoutMs?: number | undefined;
  /**
   * The caller's id for the request this call serves (an HTTP request id, a 3DS transaction id): written
   * into the call's audit events, its span and its log lines. 1 to 128 characters, no control or
   * invisible formatting characters; anything else is INVALID_INPUT. Never put secrets or card data here.
   */
  readonly requestId?: string | undefined;
}

/**
 * Runs `call` under the caller's signal and time limit. The caller is answered at once when either
 * fires; the backend call itself runs to its end (a PKCS#11 call in a native library cannot be
 * interrupted), and whatever it holds — a session, a worker thread's turn — is released then, as for any
 * call. Its late answer or error is dropped. `call` gets a signal that fires when the caller is answered
 * early (the caller's `signal`, or the time limit), for a backend that can stop a request in flight; it is
 * `undefined` when the caller gave neither.
 *
 * @throws ABORTED when the signal fires (or had fired); UNAVAILABLE when the time runs out; INVALID_INPUT
 * for a `timeoutMs` that is not a positive whole number
 * @example
 * ```ts
 * const signature = await withCallDeadline(() => provider.sign(request), { timeoutMs: 2_000 });
 * ```
 */
export function withCallDeadline<T>(
  call: (backend: AbortSignal | undefined) => Promise<T>,
  options: CallOptions = {},
): Promise<T> {
  const { signal, timeoutMs } = options;
  if (signal === undefined && timeoutMs === undefined) return call(undefined);
  if (timeoutMs !== undefined && !(Number.isInteger(timeoutMs) && timeoutMs > 0)) {
    return Promise.reject(
      new KeyswitchError(
        'INVALID_INPUT',
        `timeoutMs must be a positive whole number of milliseconds, got ${timeoutMs}`,
      ),
    );
  }
  if (signal?.aborted) return Promise.reject(aborted(signal));
  return new Promise<T>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    // Fires when the caller is answered early (cancelled, or out of time), for a backend that can stop.
    const backend = new AbortController();
    const onAbort = () =>
      finish(() => {
        backend.abort(signal!.reason);
        reject(aborted(signal!));
      });
    const finish = (settle: () => void) => {
      if (timer !== undefined) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      settle();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    if (timeoutMs !== undefined) {
      timer = setTimeout(
        () =>
          finish(() => {
            backend.abort(new DOMException(`no answer within ${timeoutMs} ms`, 'TimeoutError'));
            reject(
              new KeyswitchError('UNAVAILABLE', `no answer within the call's time limit (${timeoutMs} ms)`),
            );
          }),
        timeoutMs,
      );
    }
    let running: Promise<T>;
    try {
      running = call(backend.signal);
    } catch (error) {
      finish(() => reject(error));
      return;
    }
    running.then(
      (value) => finish(() => resolve(value)),
      (error: unknown) => finish(() => reject(error)),
    );
  });
}

function aborted(signal: AbortSignal): KeyswitchError {
  // The reason is kept as the cause, not quoted: it is the caller's object and may carry anything.
  return new KeyswitchError('ABORTED', 'the call was cancelled by its AbortSignal', {
    cause: signal.reason,
  });
}
