import { type KeyswitchLogger, logSafely } from '../telemetry/logger.js';
import type { AuditEvent, AuditListener, AuditOperation } from './events.js';

/**
 * Fans audit events out to subscribers. A listener that throws never breaks the key operation: its error is
 * reported once per listener as a process warning.
 *
 * @example
 * ```ts
 * const bus = new AuditBus();
 * const stop = bus.subscribe((event) => log.info(event));
 * stop();
 * ```
 */
export class AuditBus {
  /** Each listener and the operations it asked for (`undefined`: all of them). */
  readonly #listeners = new Map<AuditListener, ReadonlySet<AuditOperation> | undefined>();
  readonly #warned = new WeakSet<AuditListener>();
  readonly #gates = new Set<() => void>();
  #barrier: (() => Promise<void>) | undefined;
  readonly #logger: KeyswitchLogger | undefined;

  /** @param options - `logger`: where a listener's failure is reported (else a process warning) */
  constructor(options: { readonly logger?: KeyswitchLogger | undefined } = {}) {
    this.#logger = options.logger;
  }

  /**
   * Adds a listener, for every operation or only `operations` (so that a listener that needs a few,
   * such as a cache hearing of disabled keys, does not make every operation build an event); returns a
   * function that removes it.
   */
  subscribe(listener: AuditListener, operations?: readonly AuditOperation[]): () => void {
    this.#listeners.set(listener, operations === undefined ? undefined : new Set(operations));
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /**
   * Adds a check every key operation passes before it runs: a gate that throws refuses the operation
   * with its error (`audit.failClosed` adds the audit file's `check`). Returns a function that removes it.
   *
   * @example
   * ```ts
   * const remove = bus.addGate(() => sink.check()); // AUDIT_UNAVAILABLE while nothing can be recorded
   * ```
   */
  addGate(gate: () => void): () => void {
    this.#gates.add(gate);
    return () => {
      this.#gates.delete(gate);
    };
  }

  /**
   * Sets what every successful key operation awaits right after its event is emitted, before it returns
   * its result (`audit.failClosed` sets the audit file's `recorded`: no result without its record). A
   * barrier that rejects makes the operation fail with that error. Returns a function that removes it.
   *
   * @example
   * ```ts
   * const remove = bus.setBarrier(() => sink.recorded());
   * ```
   */
  setBarrier(barrier: () => Promise<void>): () => void {
    this.#barrier = barrier;
    return () => {
      if (this.#barrier === barrier) this.#barrier = undefined;
    };
  }

  /**
   * The barrier set by {@link AuditBus.setBarrier}, if any: an operation without one pays this read, no
   * call, no allocation and no await.
   */
  get barrier(): (() => Promise<void>) | undefined {
    return this.#barrier;
  }

  /**
   * Runs every gate; a provider calls this before each operation.
   *
   * @throws what a gate throws (AUDIT_UNAVAILABLE)
   */
  admit(): void {
    for (const gate of this.#gates) gate();
  }

  /** Whether anyone is listening (so callers can skip building events). */
  get active(): boolean {
    return this.#listeners.size > 0;
  }

  /** Whether anyone is listening to `operation` (so callers can skip building its event). */
  activeFor(operation: AuditOperation): boolean {
    for (const operations of this.#listeners.values()) {
      if (operations === undefined || operations.has(operation)) return true;
    }
    return false;
  }

  /** Delivers one event to every listener that asked for its operation. */
  emit(event: AuditEvent): void {
    for (const [listener, operations] of this.#listeners) {
      if (operations !== undefined && !operations.has(event.operation)) continue;
      try {
        listener(event);
      } catch (error) {
        if (!this.#warned.has(listener)) {
          this.#warned.add(listener);
          const message = error instanceof Error ? error.message : String(error);
          if (this.#logger === undefined) {
            process.emitWarning(`[keyswitch] an audit listener threw: ${message}`, 'KeyswitchAuditWarning');
          } else {
            logSafely(this.#logger, 'error', { error: message }, 'an audit listener threw');
          }
        }
      }
    }
  }
}
