import { keySpecInfo, withArticle } from '@keyswitch/core';
import { usageError } from './cli-error.js';

/**
 * What `keyswitch bench` can measure, by the key's usage.
 *
 * @example
 * ```ts
 * BENCH_OPERATIONS.includes('sign'); // true
 * ```
 */
export const BENCH_OPERATIONS = [
  'sign',
  'verify',
  'encrypt',
  'decrypt',
  'mac',
  'derive',
  'data-key',
] as const;
/**
 * One operation `keyswitch bench` can measure.
 *
 * @example
 * ```ts
 * const operation: BenchOperation = chooseOperation('sign', 'SIGN_VERIFY', 'ECC_NIST_P256');
 * ```
 */
export type BenchOperation = (typeof BENCH_OPERATIONS)[number];

const OPERATIONS_BY_USAGE: Readonly<Record<string, readonly BenchOperation[]>> = {
  SIGN_VERIFY: ['sign', 'verify'],
  ENCRYPT_DECRYPT: ['encrypt', 'decrypt', 'data-key'],
  GENERATE_VERIFY_MAC: ['mac'],
  KEY_AGREEMENT: ['derive'],
};

/**
 * The operation to measure: `--operation` checked against the key's usage and spec, or the key's
 * first (RSA encryption keys: decrypt).
 *
 * @throws a usage error naming what the key can do
 *
 * @example
 * ```ts
 * chooseOperation(undefined, 'SIGN_VERIFY', 'ECC_NIST_P256'); // 'sign'
 * ```
 */
export function chooseOperation(requested: string | undefined, usage: string, spec: string): BenchOperation {
  const allowed = OPERATIONS_BY_USAGE[usage] ?? [];
  if (requested === undefined) {
    if (usage === 'ENCRYPT_DECRYPT' && keySpecInfo(spec as never).family === 'RSA') return 'decrypt';
    return allowed[0]!;
  }
  if (!(BENCH_OPERATIONS as readonly string[]).includes(requested)) {
    throw usageError(`--operation must be one of ${BENCH_OPERATIONS.join(', ')}`);
  }
  if (!allowed.includes(requested as BenchOperation)) {
    throw usageError(`${withArticle(usage)} key cannot ${requested}; it can: ${allowed.join(', ')}`);
  }
  if (requested === 'data-key' && spec !== 'SYMMETRIC_DEFAULT') {
    throw usageError('data keys need a SYMMETRIC_DEFAULT key');
  }
  return requested as BenchOperation;
}

/**
 * `--concurrency`: a comma-separated list of operations in flight, 1 to 1,024 each (default 1, 8, 64).
 *
 * @example
 * ```ts
 * parseConcurrency('1,16'); // [1, 16]
 * ```
 */
export function parseConcurrency(value: string | undefined): number[] {
  if (value === undefined) return [1, 8, 64];
  const list = value.split(',').map((part) => Number(part.trim()));
  if (list.length === 0 || list.some((n) => !Number.isInteger(n) || n < 1 || n > 1024)) {
    throw usageError('--concurrency must be a comma-separated list of integers from 1 to 1024');
  }
  return list;
}

/**
 * A duration flag in seconds, from `min` to 3,600 (`fallback` when absent).
 *
 * @example
 * ```ts
 * parseSeconds('2.5', '--duration', 5); // 2.5
 * ```
 */
export function parseSeconds(value: string | undefined, flag: string, fallback: number, min = 0.05): number {
  if (value === undefined) return fallback;
  const seconds = Number(value);
  if (!Number.isFinite(seconds) || seconds < min || seconds > 3600) {
    throw usageError(`${flag} must be a number of seconds from ${min} to 3600`);
  }
  return seconds;
}

/**
 * `--payload`: the message size in bytes, 1 to 4,096 (absent: the operation's default).
 *
 * @example
 * ```ts
 * parsePayload('256'); // 256
 * ```
 */
export function parsePayload(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const bytes = Number(value);
  if (!Number.isInteger(bytes) || bytes < 1 || bytes > 4096) {
    throw usageError('--payload must be a number of bytes from 1 to 4096');
  }
  return bytes;
}
