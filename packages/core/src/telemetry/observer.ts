import type { AuditFileSinkOptions } from '../audit/audit-file-sink.js';
import type { KeyProvider } from '../provider/key-provider.js';
import type { CircuitBreakerOptions, CircuitState } from '../registry/circuit-breaker.js';
import { CallObserver } from './call-observer.js';
import { checkLogger, type KeyswitchLogger, logSafely } from './logger.js';
import { PoolGauges } from './pool-gauges.js';
import { type ObservabilityOptions, type ResolvedTelemetry, resolveTelemetry } from './telemetry-options.js';

const BREAKER_MESSAGES: Readonly<Record<CircuitState, readonly ['warn' | 'info', string]>> = {
  open: ['warn', 'circuit breaker opened: calls skip this provider until its cool-down ends'],
  'half-open': ['info', 'circuit breaker half-open: one probe call goes to this provider'],
  closed: ['info', 'circuit breaker closed: the provider answers again'],
};

/**
 * A registry's telemetry and logging, made from {@link ObservabilityOptions}: `undefined` when both
 * are off, so nothing of it runs. Handle calls go through {@link CallObserver}; the gauges start when
 * the registry is ready and stop at its close.
 *
 * @example
 * ```ts
 * const observer = await Observer.create({ telemetry: { meterProvider }, logger });
 * observer?.start(() => ks.breakerStates());
 * ```
 */
export class Observer {
  readonly calls: CallObserver;
  readonly logger: KeyswitchLogger | undefined;
  readonly #telemetry: ResolvedTelemetry | undefined;
  readonly #opened = new Map<string, KeyProvider>();
  #gauges: PoolGauges | undefined;

  private constructor(telemetry: ResolvedTelemetry | undefined, logger: KeyswitchLogger | undefined) {
    this.#telemetry = telemetry;
    this.logger = logger;
    this.calls = new CallObserver(telemetry, logger);
  }

  /**
   * The observer for these options, or `undefined` when telemetry and logging are both off.
   *
   * @throws CONFIG_INVALID for a logger without pino's methods, or a telemetry option that cannot be used
   */
  static async create(options: ObservabilityOptions): Promise<Observer | undefined> {
    const logger = options.logger === undefined ? undefined : checkLogger(options.logger);
    const telemetry = await resolveTelemetry(options.telemetry);
    if (telemetry === undefined && logger === undefined) return undefined;
    return new Observer(telemetry, logger);
  }

  /** Starts the gauges (breaker states, and the pools of the providers opened from now on). */
  start(breakers: () => Readonly<Record<string, CircuitState>>): void {
    const meter = this.#telemetry?.meter;
    if (meter === undefined || this.#gauges !== undefined) return;
    this.#gauges = new PoolGauges(meter, { breakers, providers: () => this.#opened });
  }

  /** Notes a provider being opened, so the pool gauges read it once it is open. */
  watchProvider(name: string, opening: Promise<KeyProvider>): void {
    if (this.#telemetry?.meter === undefined) return;
    opening.then(
      (provider) => this.#opened.set(name, provider),
      () => undefined,
    );
  }

  /** The circuit breaker options for `provider`: `base`, and with a logger, its state changes logged. */
  breakerOptions(provider: string, base: CircuitBreakerOptions): CircuitBreakerOptions {
    const logger = this.logger;
    if (logger === undefined) return base;
    const given = base.onStateChange;
    return {
      ...base,
      onStateChange: (state) => {
        given?.(state);
        const [level, message] = BREAKER_MESSAGES[state];
        logSafely(logger, level, { provider, state }, message);
      },
    };
  }

  /** The audit file's error handler: with a logger, its failures are logged rather than process warnings. */
  auditFileOptions(path: string): Pick<AuditFileSinkOptions, 'onError'> {
    const logger = this.logger;
    if (logger === undefined) return {};
    return {
      onError: (error) => logSafely(logger, 'error', { path, error: error.message }, 'audit file failure'),
    };
  }

  /** Stops the gauges. */
  close(): void {
    this.#gauges?.close();
    this.#gauges = undefined;
    this.#opened.clear();
  }
}
