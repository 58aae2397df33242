/** When a circuit breaker opens, and for how long. */
export interface CircuitBreakerOptions {
  /** Consecutive failures (UNAVAILABLE: the backend could not be reached) that open it. Default 3. */
  readonly failures?: number;
  /** How long it stays open before one probe call may go through. Default 5 s. */
  readonly coolDownMs?: number;
  /** Each failed probe doubles the cool-down, up to this. Default 60 s. */
  readonly maxCoolDownMs?: number;
  /** The clock (milliseconds), for tests. */
  readonly clock?: () => number;
  /**
   * Told when the breaker opens, lets a probe through (half-open) or closes again (the registry logs
   * these with its `logger`). It must not throw.
   */
  readonly onStateChange?: ((state: CircuitState) => void) | undefined;
}

/** A circuit breaker's state. */
export type CircuitState = 'closed' | 'open' | 'half-open';

/**
 * A circuit breaker for one backend (a configured provider). Closed, every call goes through. After
 * `failures` consecutive failures it opens: calls skip the backend (they go to a replica) until the
 * cool-down ends. Then it is half-open: one call, the probe, goes through; its success closes the breaker,
 * its failure opens it again for twice as long (up to `maxCoolDownMs`).
 *
 * @example
 * ```ts
 * const breaker = new CircuitBreaker({ failures: 3, coolDownMs: 5_000 });
 * if (breaker.allows()) {
 *   try { await call(); breaker.succeeded(); } catch { breaker.failed(); }
 * }
 * ```
 */
export class CircuitBreaker {
  readonly #failures: number;
  readonly #baseCoolDownMs: number;
  readonly #maxCoolDownMs: number;
  readonly #clock: () => number;
  readonly #onStateChange: ((state: CircuitState) => void) | undefined;
  #state: CircuitState = 'closed';
  #consecutive = 0;
  #coolDownMs: number;
  #openUntil = 0;
  #probing = false;

  constructor(options: CircuitBreakerOptions = {}) {
    this.#failures = options.failures ?? 3;
    this.#baseCoolDownMs = options.coolDownMs ?? 5_000;
    this.#maxCoolDownMs = options.maxCoolDownMs ?? 60_000;
    this.#clock = options.clock ?? Date.now;
    this.#onStateChange = options.onStateChange;
    this.#coolDownMs = this.#baseCoolDownMs;
  }

  /** The state now (an open breaker whose cool-down has ended reads as half-open). */
  get state(): CircuitState {
    if (this.#state === 'open' && this.#clock() >= this.#openUntil) return 'half-open';
    return this.#state;
  }

  /** Failures in a row so far (0 after a success). */
  get consecutiveFailures(): number {
    return this.#consecutive;
  }

  /** When (on the breaker's clock) an open breaker lets its next probe through. */
  get retryAt(): number {
    return this.#openUntil;
  }

  /**
   * Whether a call may go to the backend now. In the half-open state this lets one probe through and
   * answers false to the others until the probe reports.
   */
  allows(): boolean {
    const state = this.state;
    if (state === 'closed') return true;
    if (state === 'open' || this.#probing) return false;
    this.#state = 'half-open';
    this.#probing = true;
    this.#onStateChange?.('half-open');
    return true;
  }

  /** The backend answered (any answer, an error about the request included): the breaker closes. */
  succeeded(): void {
    const reopened = this.#state !== 'closed';
    this.#state = 'closed';
    this.#consecutive = 0;
    this.#probing = false;
    this.#coolDownMs = this.#baseCoolDownMs;
    if (reopened) this.#onStateChange?.('closed');
  }

  /** The backend could not be reached. */
  failed(): void {
    if (this.#state === 'half-open') {
      this.#probing = false;
      this.#coolDownMs = Math.min(this.#maxCoolDownMs, this.#coolDownMs * 2);
      this.#open();
      return;
    }
    this.#consecutive += 1;
    if (this.#state === 'closed' && this.#consecutive >= this.#failures) this.#open();
  }

  #open(): void {
    this.#state = 'open';
    this.#openUntil = this.#clock() + this.#coolDownMs;
    this.#onStateChange?.('open');
  }
}
