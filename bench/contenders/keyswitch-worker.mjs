/**
 * keyswitch with the PKCS#11 provider's `execution: 'worker'`: every token call on a worker thread. The
 * same public API as the `keyswitch` contender; its throughput against that contender is the worker
 * budget.
 */
import { open as openKeyswitch } from './keyswitch.mjs';

/** @param {{ env: Record<string, string>, sessions: number }} options */
export function open(options) {
  return openKeyswitch({ ...options, execution: 'worker' });
}
