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
 * Told, by a key with replicas, which copy answered a call, and which copies could not (UNAVAILABLE,
 * THROTTLED). A copy that could not is a failover once another copy is asked after it or answers (a
 * hedged call may ask two at once); the last one of a call that failed is its error, not a failover.
 * One per observed call (an object, not closures: no function is made per call).
 *
 * @example
 * ```ts
 * tracker?.failed('east', error); // then, when the next copy answers:
 * tracker?.answered('west');      // east is recorded as a failover
 * ```
 */
export interface CallTracker {
  answered(provider: string): void;
  failed(provider: string, error: KeyswitchError): void;
}

/**
 * Runs a call over the copies of a key (what `KeyBinding` does), under its deadline, with `call` as the
 * call context and `tracker` told of answers and moves.
 *
 * @example
 * ```ts
 * const run: RunCopies<boolean> = (call, tracker) => binding.runCopies(body, call, tracker);
 * ```
 */
export type RunCopies<T> = (call: CallContext, tracker: CallTracker | undefined) => Promise<T>;

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
 * return observeCall(observer, binding, 'sign', options.requestId, (call, tracker) => runCopies(body, call, tracker));
 * ```
 */
export function observeCall<T>(
  observer: CallObserver | undefined,
  key: ObservedKey,
  operation: AuditOperation,
  requestId: unknown,
  run: RunCopies<T>,
): Promise<T> {
  let call = key.call;
  if (requestId !== undefined) {
    try {
      call = { keyName: key.name, requestId: checkRequestId(requestId) };
    } catch (error) {
      return Promise.reject((error as KeyswitchError).withContext({ keyName: key.name }));
    }
  }
  return observer === undefined ? run(call, undefined) : observer.observe(key, operation, call, run);
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
  observe<T>(key: ObservedKey, operation: AuditOperation, call: CallContext, run: RunCopies<T>): Promise<T> {
    if (this.#tracer === undefined) {
      const tracker = new ObservedCall(this, undefined, key, operation, call);
      return this.#operations === undefined ? run(call, tracker) : this.#measure(tracker, run);
    }
    return this.#tracer.startActiveSpan(
      `keyswitch.${operation}`,
      { attributes: spanAttributes(key.name, operation, call.requestId) },
      (span) => this.#measure(new ObservedCall(this, span, key, operation, call), run),
    );
  }

  async #measure<T>(tracker: ObservedCall, run: RunCopies<T>): Promise<T> {
    const started = performance.now();
    let outcome = 'success';
    try {
      return await run(tracker.call, tracker);
    } catch (error) {
      outcome = isKeyswitchError(error) ? error.code : 'INTERNAL';
      throw error;
    } finally {
      tracker.finish();
      const final = callAttributes(tracker.keyName, tracker.operation, tracker.provider, outcome);
      this.#operations?.add(1, final);
      this.#duration?.record((performance.now() - started) / 1000, final);
      const span = tracker.span;
      if (span !== undefined) {
        span.setAttribute(ATTRIBUTES.provider, tracker.provider);
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
  recordMove(tracker: ObservedCall, from: string, error: KeyswitchError): void {
    tracker.span?.addEvent(FAILOVER_EVENT, { [ATTRIBUTES.provider]: from, [ATTRIBUTES.outcome]: error.code });
    this.#failovers?.add(1, callAttributes(tracker.keyName, tracker.operation, from, error.code));
    if (this.#logger !== undefined) {
      logSafely(
        this.#logger,
        'warn',
        {
          key: tracker.keyName,
          operation: tracker.operation,
          provider: from,
          errorCode: error.code,
          ...(tracker.call.requestId === undefined ? {} : { requestId: tracker.call.requestId }),
        },
        "a provider failed; the call moves to the key's next replica",
      );
    }
  }
}

/** One observed call: its span, and the provider that answered (until one does, the last one asked). */
class ObservedCall implements CallTracker {
  readonly #observer: CallObserver;
  readonly span: TelemetrySpan | undefined;
  readonly keyName: string;
  readonly operation: AuditOperation;
  readonly call: CallContext;
  provider: string;

  constructor(
    observer: CallObserver,
    span: TelemetrySpan | undefined,
    key: ObservedKey,
    operation: AuditOperation,
    call: CallContext,
  ) {
    this.#observer = observer;
    this.span = span;
    this.keyName = key.name;
    this.operation = operation;
    this.provider = key.providerName;
    this.call = call;
  }

  /** A copy that could not answer, not yet known to be a failover (no other copy answered after it). */
  #pending: { readonly provider: string; readonly error: KeyswitchError } | undefined;

  /** Set when the call has been answered or has failed: a hedged copy that answers later is ignored. */
  #done = false;

  answered(provider: string): void {
    if (this.#done) return;
    this.provider = provider;
    this.#flush();
  }

  failed(provider: string, error: KeyswitchError): void {
    if (this.#done) return;
    this.provider = provider;
    this.#flush();
    this.#pending = { provider, error };
  }

  /** The call is over: nothing more is recorded. */
  finish(): void {
    this.#done = true;
  }

  #flush(): void {
    const pending = this.#pending;
    if (pending === undefined) return;
    this.#pending = undefined;
    this.#observer.recordMove(this, pending.provider, pending.error);
  }
}

// The attributes are object literals with their names written out (the values of ATTRIBUTES, which the
// tests use): V8 gives such objects a fixed shape, where computed names or spreads make slow dictionary
// objects that cost more than the rest of the instrumentation.

/** A call's metric attributes. */
function callAttributes(
  key: string,
  operation: string,
  provider: string,
  outcome: string,
): TelemetryAttributes {
  return {
    'keyswitch.key': key,
    'keyswitch.operation': operation,
    'keyswitch.provider': provider,
    'keyswitch.outcome': outcome,
  };
}

/** A span's attributes at its start. */
function spanAttributes(key: string, operation: string, requestId: string | undefined): TelemetryAttributes {
  return requestId === undefined
    ? { 'keyswitch.key': key, 'keyswitch.operation': operation }
    : { 'keyswitch.key': key, 'keyswitch.operation': operation, 'keyswitch.request_id': requestId };
}
