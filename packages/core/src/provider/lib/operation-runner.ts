import type { AuditBus } from '../../audit/audit-bus.js';
import type { AuditOperation } from '../../audit/events.js';
import { isKeyswitchError, KeyswitchError, redactReference } from '../../errors.js';
import { describeType } from '../../lib/checks.js';
import { checkRequestId } from '../../telemetry/request-id.js';
import { type Algorithm, isAlgorithm } from '../../vocabulary/algorithms.js';
import type { KeyDescription } from '../contract.js';
import type { CallContext, KeyFacts } from '../hook-inputs.js';
import type { KeyFactsCache } from './key-facts-cache.js';

/**
 * The provider an {@link OperationRunner} runs for, read when an error or event names it.
 *
 * @example
 * ```ts
 * const runner = new OperationRunner({ name: 'hsm', type: 'pkcs11' }, audit, facts);
 * ```
 */
export interface RunningProvider {
  readonly name: string;
  readonly type: string;
}

type Target = { ref?: string; algorithm?: Algorithm };
type Outcome = { outcome: 'success'; result: unknown } | { outcome: 'failure'; error: KeyswitchError };

/**
 * How every operation of a provider runs: refused after close, tracked so that `close()` drains it,
 * failures wrapped in a {@link KeyswitchError} naming the provider and key, and one audit event each.
 *
 * @example
 * ```ts
 * const runner = new OperationRunner(provider, audit, facts);
 * const key = await runner.run('describeKey', {}, { ref }, () => backend.describe(ref));
 * ```
 */
export class OperationRunner {
  readonly #provider: RunningProvider;
  readonly #audit: AuditBus;
  readonly #facts: KeyFactsCache;
  #inFlight = 0;
  #drained: (() => void) | undefined;
  #closing: Promise<void> | undefined;

  constructor(provider: RunningProvider, audit: AuditBus, facts: KeyFactsCache) {
    this.#provider = provider;
    this.#audit = audit;
    this.#facts = facts;
  }

  /** Whether `close()` has been called. */
  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /** Runs `body` as `operation` on `request`'s key, checked, tracked and audited. */
  async run<T>(
    operation: AuditOperation,
    call: CallContext,
    request: { ref?: string; algorithm?: Algorithm } | undefined,
    body: () => Promise<T>,
  ): Promise<T> {
    const given = typeof request === 'object' && request !== null ? request : {};
    // A reference that is not a string is the caller's mistake, reported as INVALID_INPUT by the body;
    // it must not reach error messages or audit events.
    const target: Target =
      typeof given.ref === 'string' || given.ref === undefined ? given : withoutRef(given);
    // A provider called directly gets the check a handle call gets; an id refused here is never written.
    if (call.requestId !== undefined) {
      try {
        checkRequestId(call.requestId);
      } catch (error) {
        throw this.normalise(error, { keyName: call.keyName, keyRef: target.ref });
      }
    }
    const started = Date.now();
    const startedAt = performance.now();
    let facts: KeyFacts | undefined;
    let emitted = false;
    this.#inFlight += 1;
    try {
      if (this.#closing) throw new KeyswitchError('CLOSED', 'the provider is closed');
      this.#audit.admit();
      if (given !== request) throw new KeyswitchError('INVALID_INPUT', `${operation} needs a request object`);
      const result = await body();
      // The key's version is read for the audit event only: no await when nothing listens.
      if (target.ref !== undefined && this.#audit.activeFor(operation)) {
        facts = await this.#facts.known(target.ref)?.catch(() => undefined);
      }
      // A created or imported key is audited under the reference it was given.
      const audited =
        (operation === 'createKey' || operation === 'importKey') && isDescription(result)
          ? { ...target, ref: result.ref }
          : target;
      this.#emit(operation, call, audited, facts, started, startedAt, { outcome: 'success', result });
      emitted = true;
      // audit.failClosed: no result until its record is written (no await at all without it).
      const barrier = this.#audit.barrier;
      if (barrier !== undefined) await this.#recorded(barrier, operation, call, audited);
      return result;
    } catch (error) {
      // A withheld result (AUDIT_UNAVAILABLE from #recorded): its event is out already; not a second one.
      if (emitted) throw error;
      const normalised = this.normalise(error, { keyName: call.keyName, keyRef: target.ref });
      if (normalised.code === 'KEY_NOT_FOUND' && target.ref !== undefined) this.#facts.forget(target.ref);
      this.#emit(operation, call, target, undefined, started, startedAt, {
        outcome: 'failure',
        error: normalised,
      });
      throw normalised;
    } finally {
      this.#inFlight -= 1;
      if (this.#inFlight === 0) this.#drained?.();
    }
  }

  /** Stops accepting work, waits for work in flight, then runs `release` once. Idempotent. */
  close(release: () => Promise<void> | undefined): Promise<void> {
    this.#closing ??= (async () => {
      if (this.#inFlight > 0) {
        await new Promise<void>((resolve) => {
          this.#drained = resolve;
        });
      }
      await release();
    })();
    return this.#closing;
  }

  /**
   * Awaits the barrier; if the record was not written, the result is withheld with AUDIT_UNAVAILABLE.
   * The operation was done: a created or imported key exists (named in the error, which is then not
   * retryable, so that no second key is created blindly); the failure is not emitted again.
   */
  async #recorded(
    barrier: () => Promise<void>,
    operation: AuditOperation,
    call: CallContext,
    audited: Target,
  ): Promise<void> {
    try {
      await barrier();
    } catch (error) {
      const creates = operation === 'createKey' || operation === 'importKey';
      const cause = isKeyswitchError(error) ? error : undefined;
      throw new KeyswitchError(
        'AUDIT_UNAVAILABLE',
        `${operation} was done but its audit record could not be written, so its result is withheld${creates ? ' (the key was created: it is the one this error names; do not create it again)' : ''}: ${cause?.detail ?? 'the audit file failed'}`,
        {
          provider: this.#provider.name,
          keyName: call.keyName,
          keyRef: audited.ref,
          retryable: !creates,
          cause: error,
        },
      );
    }
  }

  /** `error` as a KeyswitchError naming the provider and key; anything else becomes INTERNAL. */
  normalise(
    error: unknown,
    context: { keyName?: string | undefined; keyRef?: string | undefined },
  ): KeyswitchError {
    const provider = this.#provider.name;
    if (isKeyswitchError(error)) {
      return error.withContext({ provider, keyName: context.keyName, keyRef: context.keyRef });
    }
    return new KeyswitchError(
      'INTERNAL',
      `unexpected backend failure: ${error instanceof Error ? error.name : describeType(error)}`,
      { provider, keyName: context.keyName, keyRef: context.keyRef, cause: error },
    );
  }

  #emit(
    operation: AuditOperation,
    call: CallContext,
    target: Target,
    facts: KeyFacts | undefined,
    started: number,
    startedAt: number,
    outcome: Outcome,
  ): void {
    if (!this.#audit.activeFor(operation)) return;
    const algorithm = isAlgorithm(target.algorithm) ? target.algorithm : undefined;
    this.#audit.emit({
      time: new Date(started).toISOString(),
      operation,
      ...(call.keyName === undefined ? {} : { keyName: call.keyName }),
      ...(call.requestId === undefined ? {} : { requestId: call.requestId }),
      provider: this.#provider.name,
      providerType: this.#provider.type,
      ...(typeof target.ref === 'string' ? { keyRef: redactReference(target.ref) } : {}),
      ...(facts?.version === undefined ? {} : { keyVersion: facts.version }),
      ...(algorithm === undefined ? {} : { algorithm }),
      outcome: outcome.outcome,
      ...(outcome.outcome === 'failure' ? { errorCode: outcome.error.code } : {}),
      ...(outcome.outcome === 'success' && (operation === 'verify' || operation === 'verifyMac')
        ? { valid: outcome.result === true }
        : {}),
      durationMs: Math.round((performance.now() - startedAt) * 1000) / 1000,
    });
  }
}

function withoutRef(request: { ref?: unknown; algorithm?: Algorithm }): { algorithm?: Algorithm } {
  return request.algorithm === undefined ? {} : { algorithm: request.algorithm };
}

function isDescription(value: unknown): value is KeyDescription {
  return typeof value === 'object' && value !== null && typeof (value as { ref?: unknown }).ref === 'string';
}
