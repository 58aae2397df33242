import {
  type CreateKeyRequest,
  isKeyswitchError,
  type KeyDescription,
  type KeyProvider,
  KeyswitchError,
} from '@keyswitch/core';

/** A key a conformance run created (or imported), and what cleanup did with it. */
export interface RunKey {
  /** The provider's name in the configuration. */
  readonly provider: string;
  /** Which of the run's providers made it (the provider's name, or `a`/`b` when comparing). */
  readonly source: string;
  readonly ref: string;
  readonly keyId: string;
  readonly label: string | undefined;
  readonly spec: string;
  readonly usage: string;
  /** Set by {@link RunKeys.cleanUp}. */
  action?: 'scheduled-deletion' | 'already-scheduled' | 'disabled' | 'gone' | 'left';
  deletionDate?: string;
  error?: string;
}

const DESTRUCTIVE = new Set(['disableKey', 'enableKey', 'scheduleKeyDeletion', 'cancelKeyDeletion']);

/**
 * Every key a conformance run creates, whichever provider instance created it, so the run can be
 * cleaned up at the end: after success, failure or Ctrl-C. The wrapped providers also refuse to change
 * the state of keys the run did not create, so a run against a production backend never disables,
 * enables or deletes the user's own keys.
 */
export class RunKeys {
  readonly #keys = new Map<string, RunKey>();
  readonly #names = new Set<string>();

  /** The keys created so far. */
  get keys(): readonly RunKey[] {
    return [...this.#keys.values()];
  }

  /**
   * Lets the run change the state of a key it did not create: the configured key named `lifecycle`,
   * which the user offers to the lifecycle checks. It is not cleaned up: the checks themselves leave it
   * scheduled for deletion (or disabled).
   */
  permit(ref: string): void {
    this.#names.add(ref);
  }

  /** Whether `ref` names a key this run created (by ref, key id, alias or label), or one it may change. */
  owns(ref: string): boolean {
    return this.#names.has(ref);
  }

  /**
   * A view of `provider` that records the keys created through it (`createKey`, and `importKey` where the
   * backend has one) and guards lifecycle changes. Everything else is the provider itself.
   */
  wrap(provider: KeyProvider, source: string = provider.name): KeyProvider {
    const keys = this;
    return new Proxy(provider, {
      get(target, property) {
        const value: unknown = Reflect.get(target, property, target);
        if (typeof value !== 'function') return value;
        if (property === 'createKey') {
          return async (request: CreateKeyRequest, call?: unknown) => {
            const created = await target.createKey(request, call as never);
            keys.#record(target, source, created, request.label);
            return created;
          };
        }
        if (property === 'importKey') {
          return async (request: { label?: string }, ...rest: unknown[]) => {
            const imported = (await (value as (...args: unknown[]) => Promise<unknown>).call(
              target,
              request,
              ...rest,
            )) as KeyDescription | undefined;
            const description =
              imported && typeof imported === 'object' && 'ref' in imported
                ? imported
                : request.label === undefined
                  ? undefined
                  : await target.describeKey(request.label);
            if (description) keys.#record(target, source, description, request.label);
            return imported;
          };
        }
        if (typeof property === 'string' && DESTRUCTIVE.has(property)) {
          return async (ref: string, ...rest: unknown[]) => {
            await keys.#guard(target, property, ref);
            return (value as (...args: unknown[]) => Promise<unknown>).call(target, ref, ...rest);
          };
        }
        return (value as (...args: unknown[]) => unknown).bind(target);
      },
    });
  }

  /**
   * Schedules every key the run created for deletion with the backend's shortest window (or disables it
   * where the backend cannot schedule deletion), unless that already happened. Never throws: what could
   * not be done is recorded on the key.
   */
  async cleanUp(providerFor: (source: string) => Promise<KeyProvider>): Promise<readonly RunKey[]> {
    for (const key of this.#keys.values()) {
      try {
        const provider = await providerFor(key.source);
        let description: KeyDescription;
        try {
          description = await provider.describeKey(key.ref);
        } catch (error) {
          if (isKeyswitchError(error, 'KEY_NOT_FOUND')) {
            key.action = 'gone';
            continue;
          }
          throw error;
        }
        if (description.state === 'PENDING_DELETION') {
          key.action = 'already-scheduled';
          if (description.deletionDate) key.deletionDate = description.deletionDate.toISOString();
          continue;
        }
        const capabilities = await provider.capabilities();
        if (capabilities.operations.scheduleKeyDeletion) {
          const date = await provider.scheduleKeyDeletion(key.ref, {
            pendingWindowDays: capabilities.deletionWindowDays.min,
          });
          key.action = 'scheduled-deletion';
          key.deletionDate = date.toISOString();
        } else if (capabilities.operations.disableKey) {
          if (description.state !== 'DISABLED') await provider.disableKey(key.ref);
          key.action = 'disabled';
        } else {
          key.action = 'left';
          key.error = 'the backend can neither schedule deletion nor disable keys';
        }
      } catch (error) {
        key.action = 'left';
        key.error = isKeyswitchError(error) ? `${error.code}: ${error.detail}` : String(error);
      }
    }
    return this.keys;
  }

  #record(
    provider: KeyProvider,
    source: string,
    description: KeyDescription,
    label: string | undefined,
  ): void {
    this.#keys.set(`${source}\u0000${description.ref}`, {
      provider: provider.name,
      source,
      ref: description.ref,
      keyId: description.keyId,
      label,
      spec: description.spec,
      usage: description.usage,
    });
    for (const name of [description.ref, description.keyId, ...description.aliases, label]) {
      if (name) this.#names.add(name);
    }
  }

  async #guard(provider: KeyProvider, operation: string, ref: string): Promise<void> {
    if (typeof ref !== 'string' || this.owns(ref)) return;
    let existing: KeyDescription;
    try {
      existing = await provider.describeKey(ref);
    } catch {
      // Not a key (KEY_NOT_FOUND, a malformed reference): the backend gives the error the check expects.
      return;
    }
    if (this.owns(existing.ref) || this.owns(existing.keyId)) return;
    throw new KeyswitchError(
      'ACCESS_DENIED',
      `the conformance run refused ${operation} on ${ref}: it only changes the state of keys it created`,
      { provider: provider.name, keyRef: ref },
    );
  }
}
