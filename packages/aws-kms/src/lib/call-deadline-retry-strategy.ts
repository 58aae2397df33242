import type { RetryErrorInfo, RetryStrategyV2, RetryToken } from '@smithy/types';

/** Node's codes for a connection that was never made: the endpoint is down or unknown, a retry will not help. */
const NOT_CONNECTED_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);
const BASE_DELAY_MS = 50;
const THROTTLING_BASE_DELAY_MS = 250;
const MAX_DELAY_MS = 2_000;

/** A retry token that remembers when its call started. */
class CallRetryToken implements RetryToken {
  readonly startedAt: number;
  readonly #count: number;
  readonly #delay: number;

  constructor(startedAt: number, count: number, delay: number) {
    this.startedAt = startedAt;
    this.#count = count;
    this.#delay = delay;
  }

  getRetryCount(): number {
    return this.#count;
  }

  getRetryDelay(): number {
    return this.#delay;
  }
}

/** Whether an SDK error says the connection was never made (refused, unknown host, connection timeout). */
export function isNotConnectedError(error: unknown): boolean {
  const fields = (typeof error === 'object' && error !== null ? error : {}) as {
    code?: string;
    name?: string;
    message?: string;
  };
  if (NOT_CONNECTED_CODES.has(fields.code ?? '')) return true;
  return fields.name === 'TimeoutError' && /did not establish a connection/.test(fields.message ?? '');
}

/**
 * The AWS SDK retry strategy keyswitch uses: the SDK's standard retry rules (transient errors, server
 * errors and throttling, with exponential backoff and full jitter), bounded by a time budget per call. A
 * retry whose wait would end past the budget is not made, so the call fails with its last real error
 * (throttling stays THROTTLED) instead of stalling. A refused connection and HTTP 501 are never retried.
 */
export class CallDeadlineRetryStrategy implements RetryStrategyV2 {
  readonly #maxAttempts: number;
  readonly #budgetMs: number;

  constructor(maxAttempts: number, budgetMs: number) {
    this.#maxAttempts = maxAttempts;
    this.#budgetMs = budgetMs;
  }

  async acquireInitialRetryToken(): Promise<RetryToken> {
    return new CallRetryToken(Date.now(), 0, 0);
  }

  async refreshRetryTokenForRetry(token: RetryToken, info: RetryErrorInfo): Promise<RetryToken> {
    const started = token instanceof CallRetryToken ? token.startedAt : Date.now();
    const count = token.getRetryCount() + 1;
    const status = info.error?.$metadata?.httpStatusCode;
    if (info.errorType === 'CLIENT_ERROR' || count >= this.#maxAttempts)
      throw info.error ?? new Error('no retry');
    if (status === 501 || isNotConnectedError(info.error)) throw info.error;
    const base = info.errorType === 'THROTTLING' ? THROTTLING_BASE_DELAY_MS : BASE_DELAY_MS;
    const delay = Math.floor(Math.random() * Math.min(MAX_DELAY_MS, base * 2 ** count));
    // Leave the next attempt at least a base delay's worth of time, or do not make it.
    if (Date.now() + delay + base > started + this.#budgetMs) throw info.error;
    if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
    return new CallRetryToken(started, count, 0);
  }

  recordSuccess(): void {}
}
