import { KeyswitchError } from '@keyswitch/core';

/**
 * How the circuit breaker behaves: after `failures` calls in a row could not connect, calls fail at once
 * for `cooldownMs`; then one call tries again, and a success closes the circuit.
 *
 * @example
 * ```ts
 * const breaker: CircuitBreakerOptions = { failures: 3, cooldownMs: 5_000 };
 * ```
 */
export interface CircuitBreakerOptions {
  readonly failures?: number | undefined;
  readonly cooldownMs?: number | undefined;
}

/** Stops sending to an endpoint that refuses connections, and says so, instead of hammering it. */
export class CircuitBreaker {
  readonly #threshold: number;
  readonly #cooldownMs: number;
  readonly #endpoint: string;
  #consecutive = 0;
  #openUntil = 0;
  #trialInFlight = false;
  #lastCause = '';

  constructor(endpoint: string, options: CircuitBreakerOptions = {}) {
    this.#endpoint = endpoint;
    this.#threshold = options.failures ?? 3;
    this.#cooldownMs = options.cooldownMs ?? 5_000;
  }

  /** Throws UNAVAILABLE while the circuit is open; lets one trial call through once the cooldown ends. */
  admit(operation: string): { trial: boolean } {
    if (this.#consecutive < this.#threshold) return { trial: false };
    const now = Date.now();
    if (now >= this.#openUntil && !this.#trialInFlight) {
      this.#trialInFlight = true;
      return { trial: true };
    }
    const seconds = Math.max(0, Math.ceil((this.#openUntil - now) / 1000));
    throw new KeyswitchError(
      'UNAVAILABLE',
      `KMS ${operation} not sent: circuit open after ${this.#consecutive} calls in a row could not connect to ${this.#endpoint} (${this.#lastCause}); the next try is in ${seconds} s`,
    );
  }

  /** Records how a call that was let through ended. */
  record(outcome: 'connected' | 'not-connected', trial: boolean, cause = ''): void {
    if (trial) this.#trialInFlight = false;
    if (outcome === 'connected') {
      this.#consecutive = 0;
      return;
    }
    this.#consecutive += 1;
    this.#lastCause = cause;
    if (this.#consecutive >= this.#threshold) this.#openUntil = Date.now() + this.#cooldownMs;
  }
}
