import { KeyswitchError } from '../errors.js';
import type { KeyswitchLogger } from './logger.js';
import type {
  TelemetryMeter,
  TelemetryMeterProvider,
  TelemetryTracer,
  TelemetryTracerProvider,
} from './otel-types.js';

/**
 * The instrumentation scope keyswitch's meter and tracer are named after.
 *
 * @example
 * ```ts
 * const keyswitchMetrics = resourceMetrics.scopeMetrics.find((s) => s.scope.name === INSTRUMENTATION_SCOPE);
 * ```
 */
export const INSTRUMENTATION_SCOPE = '@keyswitch/core';

/**
 * Where telemetry goes: `true` for OpenTelemetry's global providers (`@opentelemetry/api` must be
 * installed), or the providers to use (then `@opentelemetry/api` is not needed); one left out is not
 * used (no metrics, or no spans). `false` or absent: no telemetry, and nothing of it runs.
 *
 * @example
 * ```ts
 * const telemetry: TelemetryOption = { meterProvider, tracerProvider };
 * const ks = await Keyswitch.fromConfig('keyswitch.json', { telemetry });
 * ```
 */
export type TelemetryOption =
  | boolean
  | {
      readonly meterProvider?: TelemetryMeterProvider | undefined;
      readonly tracerProvider?: TelemetryTracerProvider | undefined;
    };

/**
 * The telemetry and logging options of {@link Keyswitch.fromConfig}.
 *
 * @example
 * ```ts
 * const ks = await Keyswitch.fromConfig('keyswitch.json', { telemetry: true, logger: pino() });
 * ```
 */
export interface ObservabilityOptions {
  /** OpenTelemetry metrics and spans (see docs/telemetry.md). Off by default. */
  readonly telemetry?: TelemetryOption | undefined;
  /** Where warnings and retries are logged (pino's shape). Without it, warnings go to process warnings. */
  readonly logger?: KeyswitchLogger | undefined;
}

/**
 * A resolved {@link TelemetryOption}: the meter and tracer to use, either possibly absent.
 *
 * @example
 * ```ts
 * const resolved: ResolvedTelemetry | undefined = await resolveTelemetry({ tracerProvider });
 * resolved?.tracer?.startActiveSpan('keyswitch.sign', {}, (span) => span.end());
 * ```
 */
export interface ResolvedTelemetry {
  readonly meter: TelemetryMeter | undefined;
  readonly tracer: TelemetryTracer | undefined;
}

/** The package version the meter and tracer report. */
const VERSION = '0.1.0';

/**
 * Turns the `telemetry` option into a meter and a tracer; `undefined` when telemetry is off. `true`
 * imports `@opentelemetry/api` (only then) and uses its global providers.
 *
 * @throws CONFIG_INVALID when `telemetry: true` and `@opentelemetry/api` cannot be imported, or the
 * option has the wrong shape
 * @example
 * ```ts
 * const telemetry = await resolveTelemetry({ meterProvider });
 * ```
 */
export async function resolveTelemetry(
  option: TelemetryOption | undefined,
): Promise<ResolvedTelemetry | undefined> {
  if (option === undefined || option === false) return undefined;
  if (option === true) {
    let api: typeof import('@opentelemetry/api');
    try {
      api = await import('@opentelemetry/api');
    } catch (error) {
      throw new KeyswitchError(
        'CONFIG_INVALID',
        'telemetry: true needs the @opentelemetry/api package (an optional peer dependency of @keyswitch/core): install it, or pass { meterProvider, tracerProvider }',
        { cause: error },
      );
    }
    return {
      meter: api.metrics.getMeterProvider().getMeter(INSTRUMENTATION_SCOPE, VERSION),
      tracer: api.trace.getTracerProvider().getTracer(INSTRUMENTATION_SCOPE, VERSION),
    };
  }
  if (typeof option !== 'object' || option === null) {
    throw new KeyswitchError(
      'CONFIG_INVALID',
      'the telemetry option must be true, false, or { meterProvider, tracerProvider }',
    );
  }
  const { meterProvider, tracerProvider } = option;
  if (meterProvider !== undefined && typeof meterProvider.getMeter !== 'function') {
    throw new KeyswitchError('CONFIG_INVALID', 'telemetry.meterProvider must have a getMeter method');
  }
  if (tracerProvider !== undefined && typeof tracerProvider.getTracer !== 'function') {
    throw new KeyswitchError('CONFIG_INVALID', 'telemetry.tracerProvider must have a getTracer method');
  }
  if (meterProvider === undefined && tracerProvider === undefined) return undefined;
  return {
    meter: meterProvider?.getMeter(INSTRUMENTATION_SCOPE, VERSION),
    tracer: tracerProvider?.getTracer(INSTRUMENTATION_SCOPE, VERSION),
  };
}
