import {
  type Algorithm,
  algorithmsFor,
  type EncryptionContext,
  isKeyswitchError,
  type KeyDescription,
  type KeyProvider,
  KeyswitchError,
  withArticle,
} from '@keyswitch/core';
import type { BackendCounter } from './backend-counter.js';

/** What a version is used for; checked against the backend key once, on first use. */
export type KeyPurpose = 'data-keys' | 'mac';

/** One configured version of a logical key, resolved to a provider and reference. */
export interface KeyVersionInfo {
  /** The logical key name. */
  readonly keyName: string;
  /** The version id, as stored in envelopes and tokens. */
  readonly id: string;
  /** The provider's name in the keyswitch configuration. */
  readonly provider: string;
  /** The provider-native key reference. */
  readonly ref: string;
  /** The core configuration key this version was declared through, if any. */
  readonly configKey: string | undefined;
  /** The configured creation date (start of the cryptoperiod); else the backend's is used. */
  readonly createdAt: Date | undefined;
  /** The cryptoperiod in days, if one is configured. */
  readonly cryptoperiodDays: number | undefined;
  /** `active` (new data) or `retired` (decrypt and verify only). */
  readonly status: 'active' | 'retired';
  /** From this moment the version opens nothing (configuration `disabledFrom`). */
  readonly disabledFrom?: Date | undefined;
}

/**
 * A key version bound to its provider: the backend calls the package makes, each counted, each passing
 * the logical key name so that errors and audit events name it.
 */
export class KeyVersion {
  readonly info: KeyVersionInfo;

  /** Whether the version is past its configured `disabledFrom` at `now` (ms since the epoch). */
  disabledAt(now: number): boolean {
    return this.info.disabledFrom !== undefined && now >= this.info.disabledFrom.getTime();
  }

  readonly #provider: () => Promise<KeyProvider>;
  readonly #counter: BackendCounter;
  readonly #checked = new Map<KeyPurpose, Promise<KeyProvider>>();
  #description: KeyDescription | undefined;
  /** When the backend key's state was last learnt (a describe, or a disable seen in this process). */
  #stateKnownAt = Number.NEGATIVE_INFINITY;
  #disabled = false;
  #stateCheck: Promise<void> | undefined;

  readonly #now: () => number;

  constructor(
    info: KeyVersionInfo,
    provider: () => Promise<KeyProvider>,
    counter: BackendCounter,
    now: () => number = Date.now,
  ) {
    this.info = info;
    this.#provider = provider;
    this.#counter = counter;
    this.#now = now;
  }

  /** This version's tag on the cached data keys that came through its backend key. */
  get owner(): string {
    return `${this.info.keyName}\0${this.info.id}`;
  }

  get #call() {
    return { keyName: this.info.keyName };
  }

  /** The backend's description from the first-use check, if it has run. */
  get description(): KeyDescription | undefined {
    return this.#description;
  }

  /** Describes the backend key (one backend call). */
  async describe(): Promise<KeyDescription> {
    const provider = await this.#provider();
    this.#counter.count('describeKey');
    const description = await provider.describeKey(this.info.ref, this.#call);
    this.#description = description;
    this.#stateKnownAt = this.#now();
    this.#disabled = description.state !== 'ENABLED';
    return description;
  }

  /**
   * Refuses with KEY_DISABLED once the backend key is known to be disabled (or pending deletion): known
   * from a disable in this process at once, and from the backend by describing the key again when what
   * was known is `ttlMs` old or more. One describe at a time, whatever the concurrency.
   *
   * @throws KEY_DISABLED; a failed describe's own error
   */
  async assertEnabled(ttlMs: number): Promise<void> {
    if (this.#now() - this.#stateKnownAt >= ttlMs) {
      this.#stateCheck ??= this.describe()
        .then(() => undefined)
        .finally(() => {
          this.#stateCheck = undefined;
        });
      await this.#stateCheck;
    }
    if (this.#disabled) {
      throw new KeyswitchError(
        'KEY_DISABLED',
        `version "${this.info.id}": the backend key is ${this.#description?.state === 'PENDING_DELETION' ? 'pending deletion' : 'disabled'}; its cached data keys were dropped`,
        { keyName: this.info.keyName, provider: this.info.provider, keyRef: this.info.ref },
      );
    }
  }

  /** Whether the key is known enabled by a state learnt less than `ttlMs` ago: no backend call needed. */
  knownEnabled(ttlMs: number): boolean {
    return !this.#disabled && this.#now() - this.#stateKnownAt < ttlMs;
  }

  /** Records that the backend key was disabled in this process. */
  markDisabled(): void {
    this.#disabled = true;
    this.#stateKnownAt = this.#now();
  }

  /** Forgets the backend key's state, so that the next use describes it again. */
  markStale(): void {
    this.#stateKnownAt = Number.NEGATIVE_INFINITY;
  }

  /** Whether `ref` names this version's backend key (as configured, or as the backend described it). */
  isNamedBy(ref: string): boolean {
    const description = this.#description;
    return (
      ref === this.info.ref ||
      (description !== undefined &&
        (ref === description.ref || ref === description.keyId || description.aliases.includes(ref)))
    );
  }

  /** The provider, after a one-time check that the backend key suits `purpose`. */
  provider(purpose: KeyPurpose): Promise<KeyProvider> {
    let checked = this.#checked.get(purpose);
    if (!checked) {
      checked = this.#check(purpose);
      this.#checked.set(purpose, checked);
      checked.catch(() => this.#checked.delete(purpose));
    }
    return checked;
  }

  /** The MAC algorithm of an HMAC key (after the `mac` check). */
  get macAlgorithm(): Algorithm {
    const description = this.#description;
    return description ? algorithmsFor(description.spec, description.usage)[0]! : 'HMAC_SHA_256';
  }

  async generateDataKey(
    context: EncryptionContext | undefined,
  ): Promise<{ plaintext: Uint8Array; wrapped: Uint8Array }> {
    const provider = await this.provider('data-keys');
    this.#counter.count('generateDataKey');
    const key = await provider.generateDataKey(
      { ref: this.info.ref, dataKeySpec: 'AES_256', ...withContext(context) },
      this.#call,
    );
    return { plaintext: key.plaintext!, wrapped: key.ciphertextBlob };
  }

  async unwrap(wrapped: Uint8Array, context: EncryptionContext | undefined): Promise<Uint8Array> {
    const provider = await this.provider('data-keys');
    this.#counter.count('decrypt');
    return provider.decrypt(
      { ref: this.info.ref, algorithm: 'SYMMETRIC_DEFAULT', ciphertext: wrapped, ...withContext(context) },
      this.#call,
    );
  }

  async wrap(dataKey: Uint8Array, context: EncryptionContext | undefined): Promise<Uint8Array> {
    const provider = await this.provider('data-keys');
    this.#counter.count('encrypt');
    return provider.encrypt(
      { ref: this.info.ref, algorithm: 'SYMMETRIC_DEFAULT', plaintext: dataKey, ...withContext(context) },
      this.#call,
    );
  }

  async generateMac(message: Uint8Array): Promise<Uint8Array> {
    const provider = await this.provider('mac');
    this.#counter.count('generateMac');
    return provider.generateMac(
      { ref: this.info.ref, algorithm: this.macAlgorithm as 'HMAC_SHA_256', message },
      this.#call,
    );
  }

  async verifyMac(message: Uint8Array, mac: Uint8Array): Promise<boolean> {
    const provider = await this.provider('mac');
    this.#counter.count('verifyMac');
    return provider.verifyMac(
      { ref: this.info.ref, algorithm: this.macAlgorithm as 'HMAC_SHA_256', message, mac },
      this.#call,
    );
  }

  async #check(purpose: KeyPurpose): Promise<KeyProvider> {
    const where = { keyName: this.info.keyName, provider: this.info.provider, keyRef: this.info.ref };
    let provider: KeyProvider;
    let description: KeyDescription;
    try {
      provider = await this.#provider();
      description = this.#description ?? (await this.describe());
    } catch (error) {
      throw isKeyswitchError(error) ? error.withContext(where) : error;
    }
    const ok =
      purpose === 'data-keys'
        ? description.spec === 'SYMMETRIC_DEFAULT' && description.usage === 'ENCRYPT_DECRYPT'
        : description.usage === 'GENERATE_VERIFY_MAC';
    if (!ok) {
      const needs = purpose === 'data-keys' ? 'a SYMMETRIC_DEFAULT key for ENCRYPT_DECRYPT' : 'an HMAC key';
      throw new KeyswitchError(
        'USAGE_MISMATCH',
        `version "${this.info.id}" is ${withArticle(description.spec)} key for ${description.usage}; ${purpose === 'data-keys' ? 'envelope encryption' : 'PAN hashing'} needs ${needs}`,
        where,
      );
    }
    return provider;
  }
}

function withContext(context: EncryptionContext | undefined): { context?: EncryptionContext } {
  return context === undefined ? {} : { context };
}
