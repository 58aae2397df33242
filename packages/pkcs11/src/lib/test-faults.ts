import { KeyswitchError } from '@keyswitch/core';
import { faultCounters } from './fault-layer.js';
import type { Fault } from './worker-protocol.js';

/** The environment variable that configures test-only faults (JSON: an array of {@link Fault}). */
export const TEST_FAULTS_VARIABLE = 'KEYSWITCH_PKCS11_TEST_FAULTS';

interface Installed {
  readonly faults: readonly Fault[];
  readonly counters: SharedArrayBuffer;
}

let installed: Installed | undefined;

/**
 * Test-only: makes providers opened from now on run PKCS#11 functions with faults (delays, errors) on
 * their worker threads, until `remove()`. Returns how often each fault applied so far.
 *
 * @example
 * ```ts
 * const faults = installTestFaults([{ function: 'C_SignInit', delayMs: 300 }]);
 * const provider = await Pkcs11Provider.open(options);
 * // … faults.hits(0) calls were delayed …
 * faults.remove();
 * ```
 */
export function installTestFaults(faults: readonly Fault[]): {
  hits(index: number): number;
  arm(index: number, times: number): void;
  remove(): void;
} {
  const entry: Installed = { faults, counters: faultCounters(faults) };
  installed = entry;
  const counters = new Int32Array(entry.counters);
  return {
    hits: (index) => Atomics.load(counters, index * 2 + 1),
    /** Makes fault `index` apply `times` more times (a fault with `times: 0` waits for this). */
    arm: (index, times) => {
      Atomics.store(counters, index * 2, times);
    },
    remove: () => {
      if (installed === entry) installed = undefined;
    },
  };
}

/**
 * The faults workers start with: those installed by {@link installTestFaults}, else those in the
 * `KEYSWITCH_PKCS11_TEST_FAULTS` environment variable, else none.
 *
 * @throws CONFIG_INVALID when the variable is not a JSON array of faults
 * @example
 * ```ts
 * const { faults, counters } = testFaults();
 * ```
 */
export function testFaults(): Installed {
  if (installed !== undefined) return installed;
  const text = process.env[TEST_FAULTS_VARIABLE];
  if (text === undefined || text === '') return { faults: [], counters: faultCounters([]) };
  let faults: unknown;
  try {
    faults = JSON.parse(text);
  } catch (error) {
    throw new KeyswitchError('CONFIG_INVALID', `${TEST_FAULTS_VARIABLE} is not JSON`, { cause: error });
  }
  if (!Array.isArray(faults) || !faults.every((fault) => typeof fault?.function === 'string')) {
    throw new KeyswitchError(
      'CONFIG_INVALID',
      `${TEST_FAULTS_VARIABLE} must be an array of { function, delayMs?, error?, times? }`,
    );
  }
  return { faults: faults as Fault[], counters: faultCounters(faults as Fault[]) };
}
