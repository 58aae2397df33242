/**
 * The names of keyswitch's metrics, span attributes and span events (docs/telemetry.md describes each).
 * Attribute values are logical key names, provider names, operation names, outcomes and the caller's
 * request id: never key material, plaintext, PINs or messages.
 *
 * @example
 * ```ts
 * const calls = metricData.find((metric) => metric.descriptor.name === METRICS.operations);
 * ```
 */
export const METRICS = {
  /** Counter, `{operation}`: handle calls, by key, provider, operation and outcome. */
  operations: 'keyswitch.operations',
  /** Histogram, `s`: how long handle calls take, by key, provider, operation and outcome. */
  duration: 'keyswitch.operation.duration',
  /** Counter, `{failover}`: calls that moved on from a provider to the key's next replica. */
  failovers: 'keyswitch.failovers',
  /** Observable gauge: each provider's circuit breaker, 0 closed, 1 half-open, 2 open. */
  breakerState: 'keyswitch.breaker.state',
  /** Observable gauge, `{session}`: a provider's pooled sessions, by state (`in_use`, `idle`). */
  poolSessions: 'keyswitch.pool.sessions',
  /** Observable gauge, `{session}`: the most sessions a provider's pool opens. */
  poolSessionsLimit: 'keyswitch.pool.sessions.limit',
  /** Observable gauge, `{call}`: calls waiting for a pooled session. */
  poolWaiting: 'keyswitch.pool.waiting',
  /** Observable gauge, `{thread}`: a provider's worker threads. */
  poolWorkers: 'keyswitch.pool.workers',
} as const;

/**
 * The attribute names keyswitch sets on metrics and spans.
 *
 * @example
 * ```ts
 * const key = point.attributes[ATTRIBUTES.key]; // 'acs-signing'
 * ```
 */
export const ATTRIBUTES = {
  /** The logical key name from the configuration. */
  key: 'keyswitch.key',
  /** The provider that answered (or, when none did, the last one asked; the key's own before any). */
  provider: 'keyswitch.provider',
  /** The operation, in the audit events' words: `sign`, `verify`, `decrypt`, `generateMac`... */
  operation: 'keyswitch.operation',
  /** `success`, or the error code (`KEY_DISABLED`, `UNAVAILABLE`...). */
  outcome: 'keyswitch.outcome',
  /** Spans only (one value per call: never a metric attribute): the caller's request id. */
  requestId: 'keyswitch.request_id',
  /** Pool gauges: `in_use` or `idle`. */
  poolState: 'keyswitch.pool.state',
  /** Failed spans: the error code (OpenTelemetry's `error.type`). */
  errorType: 'error.type',
} as const;

/**
 * The span event a failover adds, with the provider left and its error code as attributes.
 *
 * @example
 * ```ts
 * const failovers = span.events.filter((event) => event.name === FAILOVER_EVENT);
 * ```
 */
export const FAILOVER_EVENT = 'keyswitch.failover';
