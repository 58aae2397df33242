/**
 * What a provider's connection pools hold now, for the pool gauges of keyswitch's telemetry: a PKCS#11
 * provider's session pool and worker threads. A provider without pools reports nothing.
 *
 * @example
 * ```ts
 * const stats = provider.poolStats();
 * if (stats?.sessions && stats.sessions.waiting > 0) console.warn('callers wait for a session');
 * ```
 */
export interface PoolStats {
  readonly sessions?: {
    /** The most sessions the pool opens (its configured size). */
    readonly limit: number;
    /** Sessions lent out to an operation now. */
    readonly inUse: number;
    /** Open sessions waiting in the pool. */
    readonly idle: number;
    /** Calls waiting for a session to be given back. */
    readonly waiting: number;
  };
  readonly workers?: {
    /** Worker threads running (a thread stuck past a deadline and its replacement both count). */
    readonly threads: number;
  };
}
