import type { AuditOperation } from '../audit/events.js';
import { bytesEqual } from '../bytes/compare-bytes.js';
import type { KeyConfig } from '../config/schema.js';
import { withArticle } from '../english/with-article.js';
import { isKeyswitchError, KeyswitchError } from '../errors.js';
import type { KeyDescription } from '../provider/contract.js';
import type { CallContext } from '../provider/hook-inputs.js';
import type { KeyProvider } from '../provider/key-provider.js';
import {
  type CallObserver,
  type CallTracker,
  observeCall,
  type UseBody,
} from '../telemetry/call-observer.js';
import { type Algorithm, algorithmInfo, algorithmsFor, type MacAlgorithm } from '../vocabulary/algorithms.js';
import { type KeySpec, type KeyUsage, keySpecInfo } from '../vocabulary/key-specs.js';
import { type CallOptions, withCallDeadline } from './call-deadline.js';
import type { CircuitBreaker } from './circuit-breaker.js';
import { type AttemptOutcome, HedgeDelay, hedged } from './hedge.js';

const PREFERRED: readonly Algorithm[] = ['RSASSA_PSS_SHA_256', 'RSAES_OAEP_SHA_256'];

/** The message an HMAC key's replicas each MAC: equal MACs mean the same key (a key check value). */
const KEY_CHECK_MESSAGE = new TextEncoder().encode('keyswitch key check value');

/** Where a logical key lives: its provider and reference, and that provider's circuit breaker. */
export interface KeyTarget {
  readonly providerName: string;
  readonly ref: string;
  readonly getProvider: () => Promise<KeyProvider>;
  readonly breaker: CircuitBreaker;
  /** The config path of this copy (`keys.NAME` or `keys.NAME.replicas.I`), for errors. */
  readonly path: string;
  /**
   * The provider's `timeoutMs`: the most one attempt on this copy may take before it is UNAVAILABLE (and
   * the call moves to the next copy).
   */
  readonly timeoutMs?: number | undefined;
}

interface TargetState extends KeyTarget {
  checked: Promise<KeyProvider> | undefined;
}

/**
 * A logical key bound to its provider and reference, and to its replicas: the same key on other
 * backends. On first use of each copy it checks the backend key against the configuration (spec and
 * usage), and a replica against the others (the same public key; for HMAC keys, the same MAC of a fixed
 * message); a mismatch is CONFIG_INVALID naming the copy. Calls go to the first copy whose circuit breaker
 * allows it, and move to the next when a backend cannot be reached (UNAVAILABLE) or asks to slow down
 * (THROTTLED). Any other answer — a disabled key, a bad ciphertext — is the answer: it never fails over.
 */
export class KeyBinding {
  readonly name: string;
  readonly providerName: string;
  readonly ref: string;
  readonly spec: KeySpec;
  readonly usage: KeyUsage;
  readonly algorithm: Algorithm;
  readonly #targets: TargetState[];
  /** The identity (SPKI, or key check value) of the first copy checked; the others must match it. */
  #identity: Uint8Array | undefined;
  /** Whether every copy's check has been started (at the key's first use). */
  #checkingAll = false;
  /** A copy found to be another key: every call fails with it, whichever copy would serve. */
  #mismatch: KeyswitchError | undefined;
  /** With `hedge` configured: when to send a second request to the next copy. */
  readonly #hedge: HedgeDelay | undefined;
  readonly #call: CallContext;
  /** Telemetry and logging of calls (`undefined`: off, and calls run as if it did not exist). */
  readonly #observer: CallObserver | undefined;

  constructor(name: string, config: KeyConfig, targets: readonly KeyTarget[], observer?: CallObserver) {
    this.name = name;
    this.#call = { keyName: name };
    this.#observer = observer;
    this.providerName = config.provider;
    this.ref = config.ref;
    this.spec = config.spec;
    // The schema guarantees a usage can be derived: from the algorithm, the usage field or the spec.
    this.usage =
      config.usage ??
      (config.algorithm ? algorithmInfo(config.algorithm).usage : keySpecInfo(config.spec).usages[0]!);
    const allowed = algorithmsFor(this.spec, this.usage);
    this.algorithm = config.algorithm ?? allowed.find((a) => PREFERRED.includes(a)) ?? allowed[0]!;
    this.#targets = targets.map((target) => ({ ...target, checked: undefined }));
    this.#hedge = config.hedge === undefined ? undefined : new HedgeDelay(config.hedge);
  }

  /** What the registry passes to provider calls so errors and audit events name the logical key. */
  get call(): CallContext {
    return this.#call;
  }

  /** The configured replicas (provider names), primary first. */
  get providerNames(): readonly string[] {
    return this.#targets.map((target) => target.providerName);
  }

  /** The primary provider, after the one-time check that the backend key matches the configuration. */
  provider(call: CallContext = this.#call): Promise<KeyProvider> {
    return this.#checked(this.#targets[0]!, call);
  }

  /**
   * Runs `body` on the first copy of the key whose backend's breaker allows a call, moving to the next
   * copy when a backend cannot be reached. For calls that are safe to repeat on another backend (they
   * create nothing): sign, verify, decrypt, derive, MAC, public key, describe.
   *
   * @param options - the caller's `signal` and `timeoutMs`, for the whole call (failover included), and
   * `requestId`, passed to `body` in its call context
   * @param operation - what the call is, as audit events name it (span names, metric attributes)
   * @throws the last copy's error when none answered; any other error at once; ABORTED, or UNAVAILABLE
   * past `timeoutMs`; INVALID_INPUT for a `requestId` that is not a short printable string
   */
  use<T>(body: UseBody<T>, options: CallOptions, operation: AuditOperation): Promise<T> {
    // Telemetry off and no request id: nothing of telemetry runs.
    // The caller's signal and time limit reach the backend in the call context, so that a backend that
    // can stop a request (an HTTP request to KMS) does when the caller is answered early.
    if (this.#observer === undefined && options.requestId === undefined) {
      return withCallDeadline(
        (backend) =>
          this.#use(
            body,
            backend === undefined ? this.#call : { keyName: this.name, signal: backend },
            undefined,
          ),
        options,
      );
    }
    return observeCall(this.#observer, this, operation, options.requestId, (call, tracker) =>
      withCallDeadline(
        (backend) => this.#use(body, backend === undefined ? call : { ...call, signal: backend }, tracker),
        options,
      ),
    );
  }

  async #use<T>(body: UseBody<T>, call: CallContext, tracker: CallTracker | undefined): Promise<T> {
    if (this.#targets.length === 1) {
      const timeoutMs = this.#targets[0]!.timeoutMs;
      if (timeoutMs === undefined) return body(await this.provider(call), this.ref, call);
      return withCallDeadline(async () => body(await this.provider(call), this.ref, call), { timeoutMs });
    }
    this.#checkAll();
    if (this.#mismatch) throw this.#mismatch;
    const allowed = this.#targets.filter((target) => target.breaker.allows());
    // Every breaker open: try them all in order rather than fail without asking.
    const order = allowed.length > 0 ? allowed : this.#targets;
    let last: unknown;
    let next = 0;
    const delayMs = order.length > 1 ? this.#hedge?.delayMs() : undefined;
    if (delayMs !== undefined) {
      // Hedged: the next copy is asked too when the first has not answered within the delay.
      const outcome = await hedged(
        () => this.#attempt(order[0]!, body, call, tracker),
        () => this.#attempt(order[1]!, body, call, tracker),
        delayMs,
      );
      if ('value' in outcome) return outcome.value;
      last = outcome.failover;
      next = outcome.tried;
    }
    for (const target of order.slice(next)) {
      const outcome = await this.#attempt(target, body, call, tracker);
      if ('value' in outcome) return outcome.value;
      last = outcome.failover;
    }
    throw last;
  }

  /**
   * One attempt on one copy, under its provider's `timeoutMs`: its answer, or the outage or throttling to
   * move on from. Any other error is the answer, thrown. Keeps the copy's breaker (and the hedge's
   * latencies for the first copy) up to date.
   */
  async #attempt<T>(
    target: TargetState,
    body: UseBody<T>,
    call: CallContext,
    tracker: CallTracker | undefined,
  ): Promise<AttemptOutcome<T>> {
    const learning = this.#hedge?.learns === true && target === this.#targets[0];
    let started = 0;
    try {
      const run = async () => {
        const provider = await this.#checked(target, call);
        // The hedge learns the backend's latency, not the key's one-time check at its first use.
        if (learning) started = performance.now();
        return body(provider, target.ref, call);
      };
      const value = await (target.timeoutMs === undefined
        ? run()
        : withCallDeadline(run, { timeoutMs: target.timeoutMs }));
      target.breaker.succeeded();
      tracker?.answered(target.providerName);
      if (learning) this.#hedge!.record(performance.now() - started);
      return { value };
    } catch (error) {
      if (!isKeyswitchError(error, 'UNAVAILABLE', 'THROTTLED')) {
        // The backend answered (a cancelled call says nothing of its health either way).
        if (isKeyswitchError(error) && error.code !== 'CONFIG_INVALID' && error.code !== 'ABORTED')
          target.breaker.succeeded();
        throw error;
      }
      if (isKeyswitchError(error, 'UNAVAILABLE')) target.breaker.failed();
      tracker?.failed(target.providerName, error);
      return { failover: error };
    }
  }

  /** Throws USAGE_MISMATCH unless the key's configured usage is `usage` (a handle of the wrong kind). */
  requireUsage(usage: KeyUsage, handle: string): void {
    if (this.usage !== usage) {
      throw new KeyswitchError(
        'USAGE_MISMATCH',
        `is configured for ${this.usage}; ${withArticle(handle)} needs ${usage}`,
        {
          keyName: this.name,
          provider: this.providerName,
        },
      );
    }
  }

  /**
   * At the key's first use, checks every copy at once (in the background: a replica that cannot be
   * reached now is checked when it is next used), so a replica that is another key is found while the
   * primary serves, not during an outage.
   */
  #checkAll(): void {
    if (this.#checkingAll) return;
    this.#checkingAll = true;
    for (const target of this.#targets) {
      this.#checked(target).catch((error: unknown) => {
        if (isKeyswitchError(error, 'CONFIG_INVALID')) this.#mismatch ??= error;
      });
    }
  }

  /** The copy's provider once checked; the check's audit events carry `call` (the call that ran it). */
  #checked(target: TargetState, call: CallContext = this.#call): Promise<KeyProvider> {
    if (!target.checked) {
      const checking = this.#check(target, call);
      target.checked = checking;
      // A transient failure (backend unreachable) is not remembered: the next use checks again.
      checking.catch(() => {
        if (target.checked === checking) target.checked = undefined;
      });
    }
    return target.checked;
  }

  async #check(target: TargetState, call: CallContext): Promise<KeyProvider> {
    let provider: KeyProvider;
    let description: KeyDescription;
    try {
      provider = await target.getProvider();
      description = await provider.describeKey(target.ref, call);
    } catch (error) {
      throw error instanceof KeyswitchError
        ? error.withContext({ keyName: this.name, provider: target.providerName })
        : error;
    }
    const where = { keyName: this.name, provider: target.providerName, keyRef: target.ref };
    if (description.spec !== this.spec) {
      throw new KeyswitchError(
        'CONFIG_INVALID',
        `is configured as ${this.spec} but the backend key is ${description.spec}`,
        { ...where, path: `${target.path}.spec` },
      );
    }
    // A key that allows several usages (PKCS#11 keys made by other tools) is accepted for any of them.
    if (!(description.usages ?? [description.usage]).includes(this.usage)) {
      throw new KeyswitchError(
        'CONFIG_INVALID',
        `is configured for ${this.usage} (${this.algorithm}) but the backend key's usage is ${description.usage}`,
        { ...where, path: `${target.path}.algorithm` },
      );
    }
    if (this.#targets.length > 1) await this.#checkIdentity(target, provider, where);
    return provider;
  }

  /** A replica must be the same key as the copies checked before it. */
  async #checkIdentity(
    target: TargetState,
    provider: KeyProvider,
    where: { keyName: string; provider: string; keyRef: string },
  ): Promise<void> {
    const identity = this.spec.startsWith('HMAC_')
      ? await provider.generateMac(
          { ref: target.ref, algorithm: this.algorithm as MacAlgorithm, message: KEY_CHECK_MESSAGE },
          this.call,
        )
      : (await provider.getPublicKey(target.ref, this.call)).spki;
    if (this.#identity === undefined) {
      this.#identity = identity;
      return;
    }
    if (!bytesEqual(this.#identity, identity)) {
      throw new KeyswitchError(
        'CONFIG_INVALID',
        this.spec.startsWith('HMAC_')
          ? 'is not the same key as the other copies of this key (its MAC of a fixed message differs)'
          : 'is not the same key as the other copies of this key (its public key differs)',
        { ...where, path: `${target.path}.ref` },
      );
    }
  }
}
