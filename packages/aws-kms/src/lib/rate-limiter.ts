import { setTimeout as sleep } from 'node:timers/promises';
import { KeyswitchError } from '@keyswitch/core';
import type { RateLimitClass, RateLimits } from '../rate-limits.js';

const DEFAULT_MAX_WAIT_MS = 2_000;

/** One token bucket: `rate` tokens a second, holding at most one second's worth. */
class TokenBucket {
  readonly #rate: number;
  #tokens: number;
  #updated: number;

  constructor(rate: number) {
    this.#rate = rate;
    this.#tokens = rate;
    this.#updated = performance.now();
  }

  /** Takes a token; returns how long to wait before using it (0 when one was there), or -1 beyond `maxWaitMs`. */
  take(maxWaitMs: number): number {
    const now = performance.now();
    this.#tokens = Math.min(this.#rate, this.#tokens + ((now - this.#updated) / 1000) * this.#rate);
    this.#updated = now;
    // Tokens may go negative: each waiting request has reserved the next token in line.
    const wait = this.#tokens >= 1 ? 0 : ((1 - this.#tokens) / this.#rate) * 1000;
    if (wait > maxWaitMs) return -1;
    this.#tokens -= 1;
    return wait;
  }
}

/**
 * A client-side rate limiter with one token bucket per request class (per operation for management
 * operations), so that an application stays under its KMS quotas instead of being throttled. Requests
 * wait for their turn in order, up to `maxWaitMs`; beyond that they fail with THROTTLED without being sent.
 */
export class RateLimiter {
  readonly #limits: RateLimits;
  readonly #buckets = new Map<string, TokenBucket>();

  constructor(limits: RateLimits) {
    for (const [name, value] of Object.entries(limits)) {
      if (value === undefined) continue;
      if (
        name === 'maxWaitMs'
          ? !(typeof value === 'number' && value >= 0)
          : !(typeof value === 'number' && value > 0 && Number.isFinite(value))
      ) {
        throw new KeyswitchError(
          'CONFIG_INVALID',
          `rateLimits.${name} must be a ${name === 'maxWaitMs' ? 'non-negative' : 'positive'} number, got ${String(value)}`,
        );
      }
    }
    this.#limits = limits;
  }

  /** Waits until a request of `rateClass` (`operation` names management buckets) may be sent. */
  async acquire(rateClass: RateLimitClass, operation: string): Promise<void> {
    const effective: RateLimitClass =
      rateClass === 'generateRandom' && this.#limits.generateRandom === undefined ? 'symmetric' : rateClass;
    const rate = this.#limits[effective];
    if (rate === undefined) return;
    const name = effective === 'management' ? `management:${operation}` : effective;
    let bucket = this.#buckets.get(name);
    if (!bucket) {
      bucket = new TokenBucket(rate);
      this.#buckets.set(name, bucket);
    }
    const wait = bucket.take(this.#limits.maxWaitMs ?? DEFAULT_MAX_WAIT_MS);
    if (wait < 0) {
      throw new KeyswitchError(
        'THROTTLED',
        `client-side rate limit for ${name} (${rate}/s) reached; ${operation} was not sent`,
      );
    }
    if (wait > 0) await sleep(wait);
  }
}
