import { KeyswitchError } from '../errors.js';

/**
 * A logger in pino's shape (object first, then the message), for warnings and retries: failover to a
 * replica, a circuit breaker opening and closing, an audit listener or audit file failing, a key's
 * cryptoperiod ending. pino, bunyan-style and console adapters fit it. keyswitch never logs key
 * material, plaintext, PINs or messages.
 *
 * @example
 * ```ts
 * import pino from 'pino';
 * const ks = await Keyswitch.fromConfig('keyswitch.json', { logger: pino() });
 * ```
 */
export interface KeyswitchLogger {
  error(object: object, message?: string): void;
  warn(object: object, message?: string): void;
  info(object: object, message?: string): void;
  debug(object: object, message?: string): void;
}

/**
 * A log level keyswitch writes at.
 *
 * @example
 * ```ts
 * const level: LogLevel = 'warn';
 * ```
 */
export type LogLevel = 'error' | 'warn' | 'info' | 'debug';

const LEVELS: readonly LogLevel[] = ['error', 'warn', 'info', 'debug'];

/**
 * Checks that `value` has the four methods of a {@link KeyswitchLogger}.
 *
 * @throws CONFIG_INVALID naming the missing method
 * @example
 * ```ts
 * const logger = checkLogger(options.logger);
 * ```
 */
export function checkLogger(value: unknown): KeyswitchLogger {
  for (const level of LEVELS) {
    if (typeof (value as Record<string, unknown> | null)?.[level] !== 'function') {
      throw new KeyswitchError(
        'CONFIG_INVALID',
        `the logger option must have ${LEVELS.join(', ')} methods (pino's shape); ${level} is missing`,
      );
    }
  }
  return value as KeyswitchLogger;
}

/**
 * Writes one line, and never lets a logger's failure reach the key operation that logged.
 *
 * @example
 * ```ts
 * logSafely(logger, 'warn', { provider: 'kms' }, 'circuit breaker opened');
 * ```
 */
export function logSafely(logger: KeyswitchLogger, level: LogLevel, object: object, message: string): void {
  try {
    logger[level]({ ...object, component: 'keyswitch' }, message);
  } catch {
    // A logger that throws loses its line, not the operation.
  }
}
