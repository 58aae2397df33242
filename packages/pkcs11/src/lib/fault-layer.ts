import type { Pkcs11Library } from './shared-module.js';
import type { Fault, TemplateCondition } from './worker-protocol.js';

const FOREVER = 0x7fffffff;

/**
 * The counters a set of faults shares between threads: per fault, how many more times it applies, then
 * how many times it applied.
 *
 * @example
 * ```ts
 * const counters = faultCounters([{ function: 'C_SignInit', delayMs: 300 }]);
 * ```
 */
export function faultCounters(faults: readonly Fault[]): SharedArrayBuffer {
  const buffer = new SharedArrayBuffer(Math.max(1, faults.length) * 2 * Int32Array.BYTES_PER_ELEMENT);
  const counters = new Int32Array(buffer);
  faults.forEach((fault, index) => {
    counters[index * 2] = fault.times ?? FOREVER;
  });
  return buffer;
}

/**
 * Test-only: wraps the library's functions a fault names (its synchronous and asynchronous forms), so
 * that they block the calling thread for `delayMs` (as a stalled token does) and/or fail with a CKR_*
 * error; a fault with `when` applies only to calls whose template matches it (a token refusing session
 * objects, or RSA keys above some size). Never installed unless faults are configured.
 *
 * @example
 * ```ts
 * injectFaults(library, [{ function: 'C_SignInit', delayMs: 300 }], counters);
 * ```
 */
export function injectFaults(
  library: Pkcs11Library,
  faults: readonly Fault[],
  buffer: SharedArrayBuffer,
): void {
  const counters = new Int32Array(buffer);
  const methods = library as unknown as Record<string, (...args: unknown[]) => unknown>;
  faults.forEach((fault, index) => {
    for (const name of [fault.function, `${fault.function}Async`]) {
      const original = methods[name];
      if (typeof original !== 'function') continue;
      methods[name] = (...args: unknown[]) => {
        if (fault.when !== undefined && !args.some((arg) => templateMatches(fault.when!, arg))) {
          return original.apply(library, args);
        }
        if (Atomics.sub(counters, index * 2, 1) > 0) {
          Atomics.add(counters, index * 2 + 1, 1);
          if (fault.delayMs !== undefined && fault.delayMs > 0) sleep(fault.delayMs);
          if (fault.error !== undefined) {
            throw Object.assign(new Error(fault.error), { method: fault.function, code: 0 });
          }
        } else {
          Atomics.store(counters, index * 2, 0);
        }
        return original.apply(library, args);
      };
    }
  });
}

/** Blocks this thread, as a native call that does not return would. */
function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Whether `argument` is a template holding an attribute the condition names, with a matching value. */
function templateMatches(condition: TemplateCondition, argument: unknown): boolean {
  if (!Array.isArray(argument)) return false;
  return argument.some((attribute: { type?: unknown; value?: unknown } | null) => {
    if (typeof attribute?.type !== 'number' || !condition.attributes.includes(attribute.type)) return false;
    const { value } = attribute;
    if (condition.equals !== undefined && value === condition.equals) return true;
    return condition.above !== undefined && typeof value === 'number' && value > condition.above;
  });
}
