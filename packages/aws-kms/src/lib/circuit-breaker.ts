import { CircuitBreaker, KeyswitchError } from '@keyswitch/core';

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

/**
 * Stops sending to an endpoint that refuses connections, and says so, instead of hammering it: core's
 * {@link CircuitBreaker} with a fixed cool-down, and an error that names the endpoint and the last cause.
 */
export class EndpointCircuit {
  readonly #breaker: CircuitBreaker;
  readonly #endpoint: string;
  #lastCause = '';

  constructor(endpoint: string, options: CircuitBreakerOptions = {}) {
    this.#endpoint = endpoint;
    const coolDownMs = options.cooldownMs ?? 5_000;
    this.#breaker = new CircuitBreaker({
      failures: options.failures ?? 3,
      coolDownMs,
      maxCoolDownMs: coolDownMs,
    });
  }

  /** Throws UNAVAILABLE while the circuit is open; lets one trial call through once the cooldown ends. */
  admit(operation: string): void {
    if (this.#breaker.allows()) return;
    const seconds = Math.max(0, Math.ceil((this.#breaker.retryAt - Date.now()) / 1000));
    throw new KeyswitchError(
      'UNAVAILABLE',
      `KMS ${operation} not sent: circuit open after ${this.#breaker.consecutiveFailures} calls in a row could not connect to ${this.#endpoint} (${this.#lastCause}); the next try is in ${seconds} s`,
    );
  }

  /** Records how a call that was let through ended. */
  record(outcome: 'connected' | 'not-connected', cause = ''): void {
    if (outcome === 'connected') {
      this.#breaker.succeeded();
      return;
    }
    this.#lastCause = cause;
    this.#breaker.failed();
  }
}
