/**
 * The parts of the OpenTelemetry API keyswitch uses, as structural types: a `MeterProvider` and a
 * `TracerProvider` from `@opentelemetry/api` (or an SDK) fit them, and keyswitch's own type declarations
 * never name the `@opentelemetry/api` package, so an application without it still type-checks.
 */

/**
 * Span and metric attributes: never key material, plaintext, PINs or messages.
 *
 * @example
 * ```ts
 * const attributes: TelemetryAttributes = { 'keyswitch.key': 'acs-signing', 'keyswitch.outcome': 'success' };
 * ```
 */
export type TelemetryAttributes = Record<string, string | number | boolean>;

/**
 * What keyswitch needs of an OpenTelemetry meter provider (`metrics.getMeterProvider()`, or an SDK's
 * `MeterProvider`).
 *
 * @example
 * ```ts
 * const meterProvider: TelemetryMeterProvider = new MeterProvider({ readers: [reader] });
 * ```
 */
export interface TelemetryMeterProvider {
  getMeter(name: string, version?: string): TelemetryMeter;
}

/**
 * What keyswitch needs of an OpenTelemetry tracer provider (`trace.getTracerProvider()`, or an SDK's
 * `BasicTracerProvider`).
 *
 * @example
 * ```ts
 * const tracerProvider: TelemetryTracerProvider = new BasicTracerProvider({ spanProcessors: [processor] });
 * ```
 */
export interface TelemetryTracerProvider {
  getTracer(name: string, version?: string): TelemetryTracer;
}

/**
 * An OpenTelemetry meter, as keyswitch uses it.
 *
 * @example
 * ```ts
 * const meter: TelemetryMeter = meterProvider.getMeter('@keyswitch/core');
 * ```
 */
export interface TelemetryMeter {
  createCounter(name: string, options?: InstrumentOptions): TelemetryCounter;
  createHistogram(name: string, options?: InstrumentOptions): TelemetryHistogram;
  createObservableGauge(name: string, options?: InstrumentOptions): TelemetryObservableGauge;
}

/**
 * An instrument's description, unit and (histograms) bucket advice.
 *
 * @example
 * ```ts
 * const options: InstrumentOptions = { unit: 's', description: 'time per call' };
 * ```
 */
export interface InstrumentOptions {
  readonly description?: string;
  readonly unit?: string;
  readonly advice?: { readonly explicitBucketBoundaries?: number[] };
}

/**
 * A counter.
 *
 * @example
 * ```ts
 * counter.add(1, { 'keyswitch.key': 'acs-signing' });
 * ```
 */
export interface TelemetryCounter {
  add(value: number, attributes?: TelemetryAttributes): void;
}

/**
 * A histogram.
 *
 * @example
 * ```ts
 * histogram.record(0.004, { 'keyswitch.key': 'acs-signing' });
 * ```
 */
export interface TelemetryHistogram {
  record(value: number, attributes?: TelemetryAttributes): void;
}

/**
 * What an observable gauge's callback reports to.
 *
 * @example
 * ```ts
 * gauge.addCallback((result) => result.observe(3, { 'keyswitch.provider': 'hsm' }));
 * ```
 */
export interface TelemetryObservableResult {
  observe(value: number, attributes?: TelemetryAttributes): void;
}

/**
 * An observable gauge: read by the SDK at each collection.
 *
 * @example
 * ```ts
 * const callback = (result: TelemetryObservableResult) => result.observe(1);
 * gauge.addCallback(callback);
 * gauge.removeCallback(callback);
 * ```
 */
export interface TelemetryObservableGauge {
  addCallback(callback: (result: TelemetryObservableResult) => void): void;
  removeCallback(callback: (result: TelemetryObservableResult) => void): void;
}

/**
 * An OpenTelemetry tracer, as keyswitch uses it: a span made the active one while the call runs, so
 * the backend's own spans (the AWS SDK's HTTP calls) are its children.
 *
 * @example
 * ```ts
 * const tracer: TelemetryTracer = tracerProvider.getTracer('@keyswitch/core');
 * ```
 */
export interface TelemetryTracer {
  startActiveSpan<F extends (span: TelemetrySpan) => unknown>(
    name: string,
    options: { attributes?: TelemetryAttributes },
    fn: F,
  ): ReturnType<F>;
}

/**
 * A span, as keyswitch uses it.
 *
 * @example
 * ```ts
 * span.setAttribute('keyswitch.outcome', 'success');
 * span.end();
 * ```
 */
export interface TelemetrySpan {
  setAttribute(key: string, value: string | number | boolean): unknown;
  addEvent(name: string, attributes?: TelemetryAttributes): unknown;
  setStatus(status: { code: number; message?: string }): unknown;
  end(): void;
}
