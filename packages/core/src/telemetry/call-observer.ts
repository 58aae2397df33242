import type { AuditOperation } from '../audit/events.js';
import { isKeyswitchError, type KeyswitchError } from '../errors.js';
import type { CallContext } from '../provider/hook-inputs.js';
import type { KeyProvider } from '../provider/key-provider.js';
import { type KeyswitchLogger, logSafely } from './logger.js';
import { ATTRIBUTES, FAILOVER_EVENT, METRICS } from './metric-names.js';
import type {
  TelemetryAttributes,
  TelemetryCounter,
  TelemetryHistogram,
  TelemetrySpan,
  TelemetryTracer,
} from './otel-types.js';
import { checkRequestId } from './request-id.js';
import type { ResolvedTelemetry } from './telemetry-options.js';

/**
 * One attempt of a handle call on one copy of its key (the key's own, or a replica).
 *
 * @example
 * ```ts
 * const body: UseBody<Uint8Array> = (provider, ref, call) => provider.sign({ ref, algorithm, message }, call);
 * ```
 */
export type UseBody<T> = (provider: KeyProvider, ref: string, call: CallContext) => Promise<T>;

/**
 * Told when a call gives up on a copy of its key (UNAVAILABLE, THROTTLED) and moves to the next one.
 *
 * @example
 * ```ts
 * const moved: MoveListener = (from, error) => console.warn(`${from}: ${error.code}; next replica`);
 * ```
 */
export type MoveListener = (from: string, error: KeyswitchError) => void;

/**
 * Runs a call over the copies of a key (what `KeyBinding` does), under its deadline.
 *
 * @example
 * ```ts
 * const run: RunCopies<boolean> = (body, call, moved) => binding.runCopies(body, call, moved);
 * ```
 */
export type RunCopies<T> = (
  body: UseBody<T>,
  call: CallContext,
  moved: MoveListener | undefined,
) => Promise<T>;

/** The key a call is on: its name, its own provider and the call context naming it. */
interface ObservedKey {
  readonly name: string;
  readonly providerName: string;
  readonly call: CallContext;
}

/** OpenTelemetry's `SpanStatusCode.ERROR` (a stable value of the API, so the API need not be imported). */
const SPAN_STATUS_ERROR = 2;

/** Latency buckets, in seconds: from a local software key (0.1 ms) to a slow network HSM (10 s). */
const DURATION_BUCKETS = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

/**
 * Checks a handle call's `requestId` and runs the call, observed when telemetry or a logger is on. A
 * `KeyBinding` calls this only when one of them is set or a request id is given: otherwise the call
 * runs exactly as without telemetry.
 *
 * @throws INVALID_INPUT for a request id {@link checkRequestId} refuses; what the call throws
 * @example
 * ```ts
 * return observeCall(observer, binding, 'sign', body, options.requestId, (b, call, moved) => runCopies(b, call, moved));
 * ```
 */
export function observeCall<T>(
  observer: CallObserver | undefined,
  key: ObservedKey,
  operation: AuditOperation,
  body: UseBody<T>,
  requestId: unknown,
  run: RunCopies<T>,
): Promise<T> {
  let call = key.call;
  if (requestId !== undefined) {
    try {
      call = { ...call, requestId: checkRequestId(requestId) };
    } catch (error) {
      return Promise.reject((error as KeyswitchError).withContext({ keyName: key.name }));
    }
  }
  return observer === undefined
    ? run(body, call, undefined)
    : observer.observe(key, operation, body, call, run);
}

/**
 * Observes handle calls: one span each (`keyswitch.sign`...), the operation counter and latency
 * histogram, and failover to a replica (a span event, a counter, a warning in the log).
 *
 * @example
 * ```ts
 * const observer = new CallObserver(await resolveTelemetry({ meterProvider, tracerProvider }), logger);
 * ```
 */
export class CallObserver {
  readonly #tracer: TelemetryTracer | undefined;
  readonly #operations: TelemetryCounter | undefined;
  readonly #duration: TelemetryHistogram | undefined;
  readonly #failovers: TelemetryCounter | undefined;
  readonly #logger: KeyswitchLogger | undefined;

  constructor(telemetry: ResolvedTelemetry | undefined, logger: KeyswitchLogger | undefined) {
    this.#tracer = telemetry?.tracer;
    this.#logger = logger;
    const meter = telemetry?.meter;
    this.#operations = meter?.createCounter(METRICS.operations, {
      unit: '{operation}',
      description: 'Key operations through keyswitch handles, by key, provider, operation and outcome',
    });
    this.#duration = meter?.createHistogram(METRICS.duration, {
      unit: 's',
      description: 'How long key operations through keyswitch handles take, failover included',
      advice: { explicitBucketBoundaries: DURATION_BUCKETS },
    });
    this.#failovers = meter?.createCounter(METRICS.failovers, {
      unit: '{failover}',
      description: "Calls that moved on from a provider (UNAVAILABLE, THROTTLED) to the key's next replica",
    });
  }

  /** Runs one handle call, observed. */
  observe<T>(
    key: ObservedKey,
    operation: AuditOperation,
    body: UseBody<T>,
    call: CallContext,
    run: RunCopies<T>,
  ): Promise<T> {
    const attributes: TelemetryAttributes = { [ATTRIBUTES.key]: key.name, [ATTRIBUTES.operation]: operation };
    if (this.#tracer === undefined) {
      if (this.#operations === undefined) return run(body, call, this.#moved(undefined, attributes, call));
      return this.#measure(undefined, key, attributes, body, call, run);
    }
    const spanAttributes =
      call.requestId === undefined ? attributes : { ...attributes, [ATTRIBUTES.requestId]: call.requestId };
    return this.#tracer.startActiveSpan(`keyswitch.${operation}`, { attributes: spanAttributes }, (span) =>
      this.#measure(span, key, attributes, body, call, run),
    );
  }

  async #measure<T>(
    span: TelemetrySpan | undefined,
    key: ObservedKey,
    attributes: TelemetryAttributes,
    body: UseBody<T>,
    call: CallContext,
    run: RunCopies<T>,
  ): Promise<T> {
    const started = performance.now();
    // The provider that answered; until one does, the last one asked, and first the key's own.
    let provider = key.providerName;
    const observed: UseBody<T> = (copy, ref, context) => {
      provider = copy.name;
      return body(copy, ref, context);
    };
    const onMove = this.#moved(span, attributes, call);
    const moved: MoveListener = (from, error) => {
      provider = from;
      onMove?.(from, error);
    };
    let outcome = 'success';
    try {
      return await run(observed, call, moved);
    } catch (error) {
      outcome = isKeyswitchError(error) ? error.code : 'INTERNAL';
      throw error;
    } finally {
      const final = { ...attributes, [ATTRIBUTES.provider]: provider, [ATTRIBUTES.outcome]: outcome };
      this.#operations?.add(1, final);
      this.#duration?.record((performance.now() - started) / 1000, final);
      if (span !== undefined) {
        span.setAttribute(ATTRIBUTES.provider, provider);
        span.setAttribute(ATTRIBUTES.outcome, outcome);
        if (outcome !== 'success') {
          span.setAttribute(ATTRIBUTES.errorType, outcome);
          span.setStatus({ code: SPAN_STATUS_ERROR, message: outcome });
        }
        span.end();
      }
    }
  }

  /** What a failover records: a span event, the failover counter, a warning in the log. */
  #moved(
    span: TelemetrySpan | undefined,
    attributes: TelemetryAttributes,
    call: CallContext,
  ): MoveListener | undefined {
    if (span === undefined && this.#failovers === undefined && this.#logger === undefined) return undefined;
    return (from, error) => {
      const left = { [ATTRIBUTES.provider]: from, [ATTRIBUTES.outcome]: error.code };
      span?.addEvent(FAILOVER_EVENT, left);
      this.#failovers?.add(1, { ...attributes, ...left });
      if (this.#logger !== undefined) {
        logSafely(
          this.#logger,
          'warn',
          {
            key: attributes[ATTRIBUTES.key],
            operation: attributes[ATTRIBUTES.operation],
            provider: from,
            errorCode: error.code,
            ...(call.requestId === undefined ? {} : { requestId: call.requestId }),
          },
          "a provider failed; the call moves to the key's next replica",
        );
      }
    };
  }
}
