/** How a key with replicas hedges: after a fixed delay, or after the p99 latency of its first choice. */
export type HedgeConfig = true | { readonly afterMs: number };

/** An attempt's outcome: its answer, or the error to move on from (an outage, throttling). */
export type AttemptOutcome<T> = { readonly value: T } | { readonly failover: unknown };

const WINDOW = 128;
const MIN_SAMPLES = 20;
const RECOMPUTE_EVERY = 16;

/**
 * When to send a hedged second request: a fixed `afterMs`, or the 99th percentile of the latest 128
 * successful calls to the first choice (no hedging until 20 are known: a guess would double the load).
 *
 * @example
 * ```ts
 * const hedge = new HedgeDelay(true);
 * hedge.record(4.2);
 * hedge.delayMs(); // undefined until 20 calls are known, then their p99
 * ```
 */
export class HedgeDelay {
  readonly #fixed: number | undefined;
  readonly #samples = new Float64Array(WINDOW);
  #count = 0;
  #p99: number | undefined;

  constructor(config: HedgeConfig) {
    this.#fixed = config === true ? undefined : config.afterMs;
  }

  /** Records the latency of a successful call to the first choice, in milliseconds. */
  record(ms: number): void {
    if (this.#fixed !== undefined) return;
    this.#samples[this.#count % WINDOW] = ms;
    this.#count += 1;
    if (this.#count >= MIN_SAMPLES && (this.#p99 === undefined || this.#count % RECOMPUTE_EVERY === 0)) {
      const known = Array.from(this.#samples.subarray(0, Math.min(this.#count, WINDOW))).sort(
        (a, b) => a - b,
      );
      this.#p99 = known[Math.min(known.length - 1, Math.ceil(known.length * 0.99) - 1)];
    }
  }

  /** Whether latencies are recorded (a p99 hedge) rather than a fixed delay used. */
  get learns(): boolean {
    return this.#fixed === undefined;
  }

  /** How long to wait for the first choice before the second request, or `undefined` for no hedge yet. */
  delayMs(): number | undefined {
    return this.#fixed ?? (this.#p99 === undefined ? undefined : Math.max(1, Math.ceil(this.#p99)));
  }
}

/**
 * Runs `first`; if it has not answered after `delayMs`, runs `second` too, and answers with whichever
 * answers first. An error that is not an outage (`first` or `second` throws) is the answer at once. When
 * every attempt started failed over: the last failover, and how many copies were tried (1 or 2).
 *
 * @example
 * ```ts
 * const outcome = await hedged(() => attempt(east), () => attempt(west), 12);
 * ```
 */
export function hedged<T>(
  first: () => Promise<AttemptOutcome<T>>,
  second: () => Promise<AttemptOutcome<T>>,
  delayMs: number,
): Promise<{ readonly value: T } | { readonly failover: unknown; readonly tried: 1 | 2 }> {
  return new Promise((resolve, reject) => {
    let settled = false;
    let running = 0;
    let tried: 1 | 2 = 1;
    const finish = (settle: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      settle();
    };
    const start = (attempt: () => Promise<AttemptOutcome<T>>) => {
      running += 1;
      attempt().then(
        (outcome) => {
          running -= 1;
          if ('value' in outcome) finish(() => resolve(outcome));
          // The first choice failed before the hedge was sent: the caller moves on in order.
          else if (running === 0) finish(() => resolve({ failover: outcome.failover, tried }));
        },
        (error: unknown) => finish(() => reject(error)),
      );
    };
    const timer = setTimeout(() => {
      if (settled) return;
      tried = 2;
      start(second);
    }, delayMs);
    start(first);
  });
}
