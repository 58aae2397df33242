import type { KeyObject } from 'node:crypto';
import type { KeyMetadata } from '@aws-sdk/client-kms';
import { KeyswitchError } from '@keyswitch/core';
import { isAliasReference } from './key-description.js';
import type { KmsRequests } from './kms-requests.js';
import { publicKeyObject } from './local-public-key.js';

/** What this process knows about the key a reference names, from KMS's answers. */
export interface KeyResolution {
  /** The ARN of the key the reference named when KMS last said. */
  readonly keyArn: string;
  readonly enabled: boolean;
  /** When KMS said so (`Date.now()`). */
  readonly at: number;
}

/** How the cache behaves. */
export interface KeyCacheOptions {
  /** Cache anything at all; without it, every public key is fetched. */
  readonly enabled: boolean;
  /** How long where an alias points, and whether a key is enabled, are trusted before KMS is asked again. */
  readonly ttlMs: number;
}

/**
 * At most one forced re-resolution of a reference per this many ms, or a tenth of the TTL if shorter: a
 * flood of bad signatures must not become a flood of DescribeKey requests.
 */
const MIN_FORCED_INTERVAL_MS = 5_000;
/** How many earlier targets of an alias are remembered, to decrypt what was encrypted under them. */
const HISTORY = 4;

/**
 * Public keys cached by key ARN, and references (aliases, key ids) resolved to key ARNs and key state for
 * a bounded time. An alias that moves is followed within the TTL, at once when a KMS answer names another
 * key, and at once after a local verification fails; a key disabled by this process is forgotten at once.
 */
export class KeyCache {
  readonly #requests: KmsRequests;
  readonly #options: KeyCacheOptions;
  readonly #resolutions = new Map<string, Promise<KeyResolution>>();
  readonly #history = new Map<string, string[]>();
  readonly #spki = new Map<string, Promise<Uint8Array>>();
  readonly #keyObjects = new Map<string, KeyObject>();

  constructor(requests: KmsRequests, options: KeyCacheOptions) {
    this.#requests = requests;
    this.#options = options;
  }

  /** How long a key's state learnt from KMS may be trusted here: the TTL, or 0 when nothing is cached. */
  get stateTtlMs(): number {
    return this.#options.enabled ? this.#options.ttlMs : 0;
  }

  /** Where the reference points and whether that key is enabled: from the cache within the TTL, else DescribeKey. */
  async resolve(ref: string, options: { force?: boolean } = {}): Promise<KeyResolution> {
    const cached = this.#resolutions.get(ref);
    if (cached && this.#options.enabled) {
      const known = await cached.catch(() => undefined);
      const age = known === undefined ? Number.POSITIVE_INFINITY : Date.now() - known.at;
      const limit = options.force
        ? Math.min(MIN_FORCED_INTERVAL_MS, this.#options.ttlMs / 10)
        : this.#options.ttlMs;
      if (known && age < limit) return known;
    }
    const fresh = this.#describe(ref);
    if (this.#options.enabled) {
      this.#resolutions.set(ref, fresh);
      fresh.catch(() => {
        if (this.#resolutions.get(ref) === fresh) this.#resolutions.delete(ref);
      });
    }
    const resolution = await fresh;
    const previous = cached ? await cached.catch(() => undefined) : undefined;
    if (previous && previous.keyArn !== resolution.keyArn) this.#remember(ref, previous.keyArn);
    return resolution;
  }

  /**
   * The key ARN to use locally for a reference, failing as KMS would for a disabled key.
   *
   * @throws KEY_DISABLED when KMS last said the key is not enabled
   */
  async usable(ref: string, options: { force?: boolean } = {}): Promise<string> {
    const resolution = await this.resolve(ref, options);
    if (!resolution.enabled) {
      throw new KeyswitchError('KEY_DISABLED', `KMS key ${resolution.keyArn} is not enabled`);
    }
    return resolution.keyArn;
  }

  /** Records a DescribeKey answer for a reference. */
  record(ref: string, metadata: KeyMetadata): void {
    if (!this.#options.enabled || metadata.Arn === undefined) return;
    const cached = this.#resolutions.get(ref);
    const fresh = resolutionOf(metadata);
    void cached
      ?.then((known) => {
        if (known.keyArn !== fresh.keyArn) this.#remember(ref, known.keyArn);
      })
      .catch(() => {});
    this.#resolutions.set(ref, Promise.resolve(fresh));
  }

  /** A KMS answer named the key it used for this reference: follow it at once. */
  learn(ref: string, keyArn: string | undefined): void {
    if (!this.#options.enabled || keyArn === undefined || !keyArn.startsWith('arn:')) return;
    const cached = this.#resolutions.get(ref);
    const learned = { keyArn, enabled: true, at: Date.now() };
    void cached
      ?.then((known) => {
        if (known.keyArn !== keyArn) this.#remember(ref, known.keyArn);
      })
      .catch(() => {});
    this.#resolutions.set(ref, Promise.resolve(learned));
  }

  /** The key ARNs this reference pointed to before, most recent first. */
  previousTargets(ref: string): readonly string[] {
    return this.#history.get(ref) ?? [];
  }

  /** The public key (SPKI DER) of the key the reference names now. */
  async spki(ref: string): Promise<Uint8Array> {
    if (!this.#options.enabled) return this.#fetchSpki(ref);
    return this.spkiOf(await this.usable(ref));
  }

  /** The public key (SPKI DER) of a key by its ARN: a KMS key's public key never changes. */
  spkiOf(keyArn: string): Promise<Uint8Array> {
    let cached = this.#spki.get(keyArn);
    if (!cached) {
      cached = this.#fetchSpki(keyArn);
      this.#spki.set(keyArn, cached);
      cached.catch(() => this.#spki.delete(keyArn));
    }
    return cached;
  }

  /** The public key of a key by its ARN, as node:crypto takes it. */
  async keyObjectOf(keyArn: string): Promise<KeyObject> {
    const known = this.#keyObjects.get(keyArn);
    if (known) return known;
    const key = publicKeyObject(await this.spkiOf(keyArn));
    this.#keyObjects.set(keyArn, key);
    return key;
  }

  /**
   * Forgets what is known about the key a reference names and every reference resolved to it: after a
   * disable, enable or deletion in this process, the next local use asks KMS again.
   */
  async forgetKey(ref: string): Promise<void> {
    const target = await this.#resolutions.get(ref)?.catch(() => undefined);
    this.#resolutions.delete(ref);
    for (const [other, resolution] of [...this.#resolutions]) {
      const known = await resolution.catch(() => undefined);
      if (known === undefined || known.keyArn === ref || known.keyArn === target?.keyArn) {
        this.#resolutions.delete(other);
      }
    }
  }

  /** Forgets where an alias points (after UpdateAlias or DeleteAlias in this process). */
  async forgetAlias(alias: string): Promise<void> {
    for (const ref of [...this.#resolutions.keys()]) {
      if (ref === alias || (isAliasReference(ref) && ref.endsWith(`:${alias}`))) {
        const known = await this.#resolutions.get(ref)?.catch(() => undefined);
        if (known) this.#remember(ref, known.keyArn);
        this.#resolutions.delete(ref);
      }
    }
  }

  #remember(ref: string, keyArn: string): void {
    const earlier = (this.#history.get(ref) ?? []).filter((arn) => arn !== keyArn);
    this.#history.set(ref, [keyArn, ...earlier].slice(0, HISTORY));
  }

  async #describe(ref: string): Promise<KeyResolution> {
    const { KeyMetadata } = await this.#requests.send('DescribeKey', 'describeKey', (sdk, client) =>
      client.send(new sdk.DescribeKeyCommand({ KeyId: ref })),
    );
    return {
      keyArn: KeyMetadata!.Arn!,
      enabled:
        KeyMetadata!.KeyState === undefined
          ? KeyMetadata!.Enabled === true
          : KeyMetadata!.KeyState === 'Enabled',
      at: Date.now(),
    };
  }

  #fetchSpki(ref: string): Promise<Uint8Array> {
    return this.#requests
      .send('GetPublicKey', 'getPublicKey', (sdk, client) =>
        client.send(new sdk.GetPublicKeyCommand({ KeyId: ref })),
      )
      .then(({ PublicKey }) => PublicKey!);
  }
}

function resolutionOf(metadata: KeyMetadata): KeyResolution {
  const enabled =
    metadata.KeyState === undefined ? metadata.Enabled === true : metadata.KeyState === 'Enabled';
  return { keyArn: metadata.Arn!, enabled, at: Date.now() };
}
