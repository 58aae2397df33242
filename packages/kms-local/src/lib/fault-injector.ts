import { KmsException } from './kms-exception.js';

/**
 * Faults kms-local injects, for resilience tests: a share of requests answered with ThrottlingException,
 * and a share delayed before they are handled. With a `seed`, which requests are hit is the same on every
 * run; without one it is random.
 *
 * @example
 * ```ts
 * server.setFaults({ throttleRate: 0.25, seed: 42, operations: ['Sign'] });
 * ```
 */
export interface KmsLocalFaults {
  /** Fraction of requests, 0 to 1, answered `ThrottlingException` (HTTP 400) without being handled. */
  readonly throttleRate?: number;
  /** Fraction of requests, 0 to 1, delayed by `delayMs` before they are handled. */
  readonly delayRate?: number;
  /** How long a delayed request waits, in milliseconds (default 1,000). */
  readonly delayMs?: number;
  /** Makes the choice of requests deterministic. */
  readonly seed?: number;
  /** Only these operations (`Sign`, `Decrypt`…) are affected; all when absent. */
  readonly operations?: readonly string[];
}

/** What to do with one request. */
export interface FaultDecision {
  readonly throttle: boolean;
  readonly delayMs: number;
}

/** Decides, request by request, which faults apply. */
export class FaultInjector {
  readonly #faults: KmsLocalFaults;
  readonly #random: () => number;

  constructor(faults: KmsLocalFaults) {
    for (const name of ['throttleRate', 'delayRate'] as const) {
      const rate = faults[name];
      if (rate !== undefined && !(rate >= 0 && rate <= 1)) {
        throw new RangeError(`faults.${name} must be a number from 0 to 1, got ${rate}`);
      }
    }
    if (faults.delayMs !== undefined && !(Number.isInteger(faults.delayMs) && faults.delayMs >= 0)) {
      throw new RangeError(`faults.delayMs must be a non-negative integer, got ${faults.delayMs}`);
    }
    this.#faults = faults;
    this.#random = faults.seed === undefined ? Math.random : mulberry32(faults.seed);
  }

  /** The faults for a request to `operation`; draws from the generator only for affected operations. */
  decide(operation: string): FaultDecision {
    const faults = this.#faults;
    if (faults.operations !== undefined && !faults.operations.includes(operation))
      return { throttle: false, delayMs: 0 };
    const throttle = (faults.throttleRate ?? 0) > 0 && this.#random() < faults.throttleRate!;
    const delayed = !throttle && (faults.delayRate ?? 0) > 0 && this.#random() < faults.delayRate!;
    return { throttle, delayMs: delayed ? (faults.delayMs ?? 1000) : 0 };
  }
}

/** The exception a throttled request gets, worded as KMS words it. */
export function throttled(): KmsException {
  return new KmsException(
    'ThrottlingException',
    'You have exceeded the rate at which you may call KMS. Reduce the frequency of your calls.',
  );
}

/** A small seeded generator (mulberry32): uniform in [0, 1), the same sequence for the same seed. */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
