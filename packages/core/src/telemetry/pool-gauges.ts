import type { KeyProvider } from '../provider/key-provider.js';
import type { CircuitState } from '../registry/circuit-breaker.js';
import { ATTRIBUTES, METRICS } from './metric-names.js';
import type { TelemetryMeter, TelemetryObservableGauge, TelemetryObservableResult } from './otel-types.js';

/** A circuit breaker's state as the gauge reports it. */
const BREAKER_VALUES: Readonly<Record<CircuitState, number>> = { closed: 0, 'half-open': 1, open: 2 };

/**
 * What the gauges read at each collection.
 *
 * @example
 * ```ts
 * const sources: GaugeSources = { breakers: () => ks.breakerStates(), providers: () => opened };
 * ```
 */
export interface GaugeSources {
  /** Each provider's circuit breaker state (`Keyswitch.breakerStates()`). */
  readonly breakers: () => Readonly<Record<string, CircuitState>>;
  /** The providers opened so far, by name (a gauge never opens one). */
  readonly providers: () => Iterable<readonly [string, KeyProvider]>;
}

/**
 * keyswitch's observable gauges: circuit breaker state per provider, and the pools of each opened
 * provider that has some ({@link KeyProvider.poolStats}): sessions in use and idle, the pool's limit,
 * calls waiting, worker threads. Read by the SDK at each collection; nothing runs between collections.
 *
 * @example
 * ```ts
 * const gauges = new PoolGauges(meter, { breakers: () => ks.breakerStates(), providers: () => opened });
 * gauges.close(); // at Keyswitch.close()
 * ```
 */
export class PoolGauges {
  readonly #registered: Array<[TelemetryObservableGauge, (result: TelemetryObservableResult) => void]> = [];

  constructor(meter: TelemetryMeter, sources: GaugeSources) {
    const pools = () =>
      [...sources.providers()].flatMap(([name, provider]) => {
        const stats = provider.closed ? undefined : provider.poolStats();
        return stats === undefined ? [] : [{ provider: { [ATTRIBUTES.provider]: name }, stats }];
      });
    this.#gauge(
      meter,
      METRICS.breakerState,
      '1',
      'Circuit breaker state: 0 closed, 1 half-open, 2 open',
      (result) => {
        for (const [provider, state] of Object.entries(sources.breakers())) {
          result.observe(BREAKER_VALUES[state], { [ATTRIBUTES.provider]: provider });
        }
      },
    );
    this.#gauge(meter, METRICS.poolSessions, '{session}', 'Pooled sessions, in use or idle', (result) => {
      for (const { provider, stats } of pools()) {
        if (stats.sessions === undefined) continue;
        result.observe(stats.sessions.inUse, { ...provider, [ATTRIBUTES.poolState]: 'in_use' });
        result.observe(stats.sessions.idle, { ...provider, [ATTRIBUTES.poolState]: 'idle' });
      }
    });
    this.#gauge(meter, METRICS.poolSessionsLimit, '{session}', 'The most sessions a pool opens', (result) => {
      for (const { provider, stats } of pools()) {
        if (stats.sessions !== undefined) result.observe(stats.sessions.limit, provider);
      }
    });
    this.#gauge(meter, METRICS.poolWaiting, '{call}', 'Calls waiting for a pooled session', (result) => {
      for (const { provider, stats } of pools()) {
        if (stats.sessions !== undefined) result.observe(stats.sessions.waiting, provider);
      }
    });
    this.#gauge(meter, METRICS.poolWorkers, '{thread}', 'Worker threads running backend calls', (result) => {
      for (const { provider, stats } of pools()) {
        if (stats.workers !== undefined) result.observe(stats.workers.threads, provider);
      }
    });
  }

  /** Stops reporting (the registry is closed). */
  close(): void {
    for (const [gauge, callback] of this.#registered.splice(0)) gauge.removeCallback(callback);
  }

  #gauge(
    meter: TelemetryMeter,
    name: string,
    unit: string,
    description: string,
    callback: (result: TelemetryObservableResult) => void,
  ): void {
    const gauge = meter.createObservableGauge(name, { unit, description });
    gauge.addCallback(callback);
    this.#registered.push([gauge, callback]);
  }
}
