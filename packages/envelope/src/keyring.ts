import {
  type AuditEvent,
  activeVersionId,
  isKeyswitchError,
  type Keyswitch,
  KeyswitchError,
  type KeyVersionsConfig,
  logSafely,
  requireObject,
  validateKeyVersions,
} from '@keyswitch/core';
import { type CacheLimits, resolveCacheLimits } from './cache-limits.js';
import { type CommitmentPolicy, opensFormat1Under } from './commitment-policy.js';
import { EnvelopeCipher, type EnvelopeCipherOptions } from './envelope-cipher.js';
import type { KeyringEvent, KeyringEventListener } from './keyring-event.js';
import { BackendCounter } from './lib/backend-counter.js';
import { cryptoperiodEnd, daysToMs } from './lib/cryptoperiod.js';
import { type CacheStats, DataKeyCache } from './lib/data-key-cache.js';
import { type KeyPurpose, KeyVersion, type KeyVersionInfo } from './lib/key-version.js';
import { type KeyringInternals, setInternals } from './lib/keyring-internals.js';
import { LogicalKey } from './lib/logical-key.js';
import { requireKeyswitch } from './lib/require-keyswitch.js';
import { type MultiKeyringConfig, multiKeyringsOf } from './multi-keyring.js';
import { PanHasher, type PanHasherOptions } from './pan/pan-hasher.js';

/** Options for {@link Keyring.create}. */
export interface KeyringOptions {
  /**
   * Logical keys with versions, instead of the configuration's `versions` section (`ks.keyVersions()`,
   * the default). A plain key of the keyswitch configuration is a key with one version, `"1"`.
   */
  readonly versions?: KeyVersionsConfig;
  /**
   * Logical keys whose data keys several configured keys wrap (on different backends), so that losing one
   * backend loses no data; see {@link MultiKeyringConfig}. A name here must not also have versions.
   * Defaults to the configuration's `multiKeyrings` section (`ks.multiKeyrings()`).
   */
  readonly multiKeyrings?: Readonly<Record<string, MultiKeyringConfig>>;
  /** Data-key cache limits (each defaults to {@link DEFAULT_CACHE_LIMITS}), or `false` for no cache. */
  readonly cache?: Partial<CacheLimits> | false;
  /**
   * Receives cryptoperiod events. Without it they become process warnings, and are also appended to the
   * registry's audit file when the configuration has an `audit` section.
   */
  readonly onEvent?: KeyringEventListener;
  /**
   * Which envelope formats decrypt (named after the AWS Encryption SDK's policies). New envelopes are
   * always format 2, which commits to its data key. `REQUIRE_ENCRYPT_ALLOW_DECRYPT` (the default) also opens
   * format 1, which does not: whoever may encrypt under the key-encryption key can make a format 1 envelope
   * that opens to two plaintexts. Once `rewrap` has migrated stored data, `REQUIRE_ENCRYPT_REQUIRE_DECRYPT`
   * refuses format 1 (INVALID_CIPHERTEXT), in decryption and in `rewrap` alike.
   */
  readonly commitmentPolicy?: CommitmentPolicy;
  /** The current time (tests). */
  readonly clock?: () => Date;
}

/** Counters for tests and metrics. */
export interface KeyringStats {
  /** Backend calls this keyring made (describe, data keys, wrap/unwrap, MACs), attempts included. */
  readonly backendCalls: number;
  readonly byOperation: Readonly<Record<string, number>>;
  /** The data-key cache's counters, or `undefined` without a cache. */
  readonly cache: CacheStats | undefined;
}

const EVENT_REPEAT_MS = 86_400_000;
const KEY_STATE_OPERATIONS = ['disableKey', 'scheduleKeyDeletion', 'enableKey', 'cancelKeyDeletion'] as const;

/**
 * Logical keys with versions, on top of a {@link Keyswitch} registry: the active version takes new data,
 * retired versions only decrypt and verify, and each version may have a cryptoperiod. Hands out envelope
 * ciphers and PAN hashers that share one data-key cache, so ask for them as often as you like.
 *
 * @example
 * ```ts
 * // keyswitch.json has "versions": { "pan-kek": { "cryptoperiodDays": 365, "versions": [
 * //   { "id": "2024", "provider": "kms", "ref": "alias/pan-kek-2024", "createdAt": "2024-01-15" },
 * //   { "id": "2025", "provider": "hsm", "ref": "pkcs11:object=pan-kek-2025", "createdAt": "2025-01-15" } ] } }
 * const ks = await Keyswitch.fromConfig('keyswitch.json');
 * const keyring = Keyring.create(ks); // the configuration's versions; `{ versions }` overrides them
 * const sealed = await keyring.envelopes('pan-kek').encrypt(record, { context: { table: 'cards' } });
 * await keyring.close();
 * ```
 */
export class Keyring {
  readonly #ks: Keyswitch;
  readonly #counter = new BackendCounter();
  readonly #cache: DataKeyCache | undefined;
  readonly #declared = new Map<string, LogicalKey>();
  readonly #plain = new Map<string, LogicalKey>();
  readonly #onEvent: KeyringEventListener | undefined;
  readonly #clock: () => Date;
  readonly #nowMs: () => number;
  readonly #reported = new Map<string, number>();
  /** Every key version made so far, by its cache owner tag. */
  readonly #byOwner = new Map<string, KeyVersion>();
  readonly #keyStateTtlMs: number;
  readonly #unsubscribe: () => void;
  #closed = false;

  private constructor(ks: Keyswitch, options: KeyringOptions) {
    this.#ks = ks;
    this.#clock = options.clock ?? (() => new Date());
    // The cache and key versions ask the time for every record: no Date object for that without a clock.
    const clock = options.clock;
    this.#nowMs = clock === undefined ? Date.now : () => clock().getTime();
    this.#onEvent = options.onEvent;
    const opensFormat1 = opensFormat1Under(options.commitmentPolicy);
    const limits = options.cache === false ? undefined : resolveCacheLimits(options.cache ?? {});
    this.#keyStateTtlMs = limits?.keyStateTtlMs ?? 0;
    this.#cache = limits === undefined ? undefined : new DataKeyCache(limits, this.#nowMs);
    const versions =
      options.versions === undefined
        ? ks.keyVersions()
        : validateKeyVersions(options.versions, { providers: ks.providerNames(), keys: ks.keyNames() });
    const multi = multiKeyringsOf(
      options.multiKeyrings,
      ks.multiKeyrings(),
      ks.keyNames(),
      Object.keys(versions),
    );
    for (const [name, config] of Object.entries(versions)) {
      const resolved = config.versions.map((version) =>
        this.#version(
          {
            keyName: name,
            id: version.id,
            ...this.#target(version),
            configKey: version.key,
            createdAt: version.createdAt === undefined ? undefined : new Date(version.createdAt),
            cryptoperiodDays: version.cryptoperiodDays ?? config.cryptoperiodDays,
            status: version.id === activeVersionId(config) ? 'active' : 'retired',
            disabledFrom: version.disabledFrom === undefined ? undefined : new Date(version.disabledFrom),
          },
          this.#target(version).provider,
        ),
      );
      this.#declared.set(
        name,
        new LogicalKey({
          name,
          versions: resolved,
          active: resolved.find((version) => version.info.status === 'active')!,
          enforcement: config.cryptoperiodEnforcement ?? 'error',
          warnBeforeDays: config.warnBeforeDays ?? 30,
          description: config.description,
          declared: true,
        }),
      );
    }
    for (const [name, config] of Object.entries(multi)) {
      const member = (key: string, status: 'active' | 'retired') => {
        const { provider, ref } = ks.keyConfig(key);
        return this.#version(
          {
            keyName: name,
            id: key,
            provider,
            ref,
            configKey: key,
            createdAt: undefined,
            cryptoperiodDays: undefined,
            status,
          },
          provider,
        );
      };
      const wrappers = config.keys.map((key) => member(key, 'active'));
      this.#declared.set(
        name,
        new LogicalKey({
          name,
          versions: [...wrappers, ...config.retired.map((key) => member(key, 'retired'))],
          active: wrappers[0]!,
          wrappers,
          timeoutMs: config.timeoutMs,
          enforcement: 'error',
          warnBeforeDays: 30,
          description: undefined,
          declared: true,
        }),
      );
    }
    // Only the lifecycle operations: other operations then build no audit event for the keyring's sake.
    this.#unsubscribe = ks.onAudit((event) => this.#onAudit(event), { operations: KEY_STATE_OPERATIONS });
    const internals: KeyringInternals = {
      keyswitch: ks,
      counter: this.#counter,
      cache: this.#cache,
      key: (name) => this.#key(name),
      findKey: (name) => this.#findKey(name),
      keys: () => this.keyNames().map((name) => this.#key(name)),
      forNewData: (key, requested, purpose) => this.#forNewData(key, requested, purpose),
      wrappersForNewData: (key, requested) => this.#wrappersForNewData(key, requested),
      assertEnabled: (versions) => this.#assertEnabled(versions),
      ownersEnabled: (owners) => this.#ownersEnabled(owners),
      now: () => this.#clock(),
      opensFormat1,
      assertOpen: () => this.#assertOpen(),
    };
    setInternals(this, internals);
  }

  /**
   * A keyring over a keyswitch registry. The keyring does not own the registry: close both.
   *
   * @throws CONFIG_INVALID naming the path of the first problem in the `versions` option or `cache`;
   * INVALID_INPUT when `ks` is not a Keyswitch or `options` is not an object
   */
  static create(ks: Keyswitch, options: KeyringOptions = {}): Keyring {
    return new Keyring(requireKeyswitch(ks), requireObject(options, 'Keyring options'));
  }

  /** The registry the keyring sits on. */
  get keyswitch(): Keyswitch {
    return this.#ks;
  }

  /**
   * Logical key names: those with versions, then the keyswitch configuration's other keys (one version
   * each), leaving out keys that serve as a version of another.
   */
  keyNames(): string[] {
    const usedAsVersion = new Set(
      [...this.#declared.values()].flatMap((key) => key.versions().map((version) => version.info.configKey)),
    );
    return [
      ...this.#declared.keys(),
      ...this.#ks.keyNames().filter((name) => !this.#declared.has(name) && !usedAsVersion.has(name)),
    ];
  }

  /** A logical key's versions, oldest first. @throws CONFIG_INVALID for an unknown name */
  versions(name: string): KeyVersionInfo[] {
    return this.#key(name)
      .versions()
      .map((version) => version.info);
  }

  /** The version new data uses. @throws CONFIG_INVALID for an unknown name */
  activeVersion(name: string): KeyVersionInfo {
    return this.#key(name).active.info;
  }

  /**
   * Envelope encryption under a logical key's versions (SYMMETRIC_DEFAULT backend keys).
   *
   * @throws CONFIG_INVALID for an unknown name
   */
  envelopes(name: string, options: EnvelopeCipherOptions = {}): EnvelopeCipher {
    this.#assertOpen();
    return new EnvelopeCipher(this, this.#key(name), options);
  }

  /**
   * Keyed hashing of PANs under a logical key's versions (HMAC backend keys).
   *
   * @throws CONFIG_INVALID for an unknown name
   */
  panHasher(name: string, options: PanHasherOptions = {}): PanHasher {
    this.#assertOpen();
    return new PanHasher(this, this.#key(name), options);
  }

  /** Backend-call and cache counters. */
  stats(): KeyringStats {
    return {
      backendCalls: this.#counter.total,
      byOperation: this.#counter.byOperation(),
      cache: this.#cache?.stats(),
    };
  }

  /** Zeroes every cached data key and refuses further use. Does not close the registry. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#unsubscribe();
    this.#cache?.close();
  }

  #version(info: KeyVersionInfo, provider: string): KeyVersion {
    const version = new KeyVersion(info, () => this.#ks.provider(provider), this.#counter, this.#nowMs);
    this.#byOwner.set(version.owner, version);
    return version;
  }

  /**
   * A disable (or scheduled deletion) made through this registry drops, at once, every cached data key
   * its key wrapped; one whose reference the keyring cannot match to a version (a KMS key id where an
   * alias is configured) makes every version on that provider describe its key again at next use. An
   * enable makes them describe again too, so that a re-enabled key is usable at once.
   */
  #onAudit(event: AuditEvent): void {
    if (event.outcome !== 'success') return;
    const disabling = event.operation === 'disableKey' || event.operation === 'scheduleKeyDeletion';
    if (!disabling && event.operation !== 'enableKey' && event.operation !== 'cancelKeyDeletion') return;
    for (const version of this.#byOwner.values()) {
      if (version.info.provider !== event.provider) continue;
      if (disabling && event.keyRef !== undefined && version.isNamedBy(event.keyRef)) {
        version.markDisabled();
        this.#cache?.dropOwner(version.owner);
      } else {
        version.markStale();
      }
    }
  }

  async #wrappersForNewData(key: LogicalKey, requested: string | undefined): Promise<readonly KeyVersion[]> {
    await this.#forNewData(key, requested, 'data-keys');
    if (key.wrappers.length > 1) {
      await Promise.all(key.wrappers.slice(1).map((wrapper) => wrapper.provider('data-keys')));
    }
    return key.wrappers;
  }

  /** With a cache: KEY_DISABLED (and the cached keys dropped) once a wrapping key is known disabled. */
  #assertEnabled(versions: readonly KeyVersion[]): Promise<void> | undefined {
    if (!this.#cache) return undefined;
    const ttl = this.#keyStateTtlMs;
    if (versions.every((version) => version.knownEnabled(ttl))) return undefined;
    return this.#checkEnabled(versions);
  }

  async #checkEnabled(versions: readonly KeyVersion[]): Promise<void> {
    for (const version of versions) {
      try {
        await version.assertEnabled(this.#keyStateTtlMs);
      } catch (error) {
        if (isKeyswitchError(error, 'KEY_DISABLED')) this.#cache?.dropOwner(version.owner);
        throw error;
      }
    }
  }

  /**
   * Whether the versions a cached key came through are still enabled, as far as the key-state TTL lets the
   * keyring know; a version that is not (or whose state cannot be learnt) loses its cached keys.
   */
  #ownersEnabled(owners: readonly string[]): Promise<boolean> | true {
    const ttl = this.#keyStateTtlMs;
    if (owners.every((owner) => this.#byOwner.get(owner)?.knownEnabled(ttl) !== false)) return true;
    return this.#checkOwners(owners);
  }

  async #checkOwners(owners: readonly string[]): Promise<boolean> {
    for (const owner of owners) {
      const version = this.#byOwner.get(owner);
      if (!version) continue;
      try {
        await version.assertEnabled(this.#keyStateTtlMs);
      } catch {
        this.#cache?.dropOwner(owner);
        return false;
      }
    }
    return true;
  }

  #target(version: { provider?: string | undefined; ref?: string | undefined; key?: string | undefined }): {
    provider: string;
    ref: string;
  } {
    if (version.key !== undefined) {
      const config = this.#ks.keyConfig(version.key);
      return { provider: config.provider, ref: config.ref };
    }
    return { provider: version.provider!, ref: version.ref! };
  }

  #assertOpen(): void {
    if (this.#closed) throw new KeyswitchError('CLOSED', 'this keyring is closed');
  }

  #findKey(name: string): LogicalKey | undefined {
    const declared = this.#declared.get(name);
    if (declared) return declared;
    let plain = this.#plain.get(name);
    if (!plain && this.#ks.keyNames().includes(name)) {
      const config = this.#ks.keyConfig(name);
      const version = this.#version(
        {
          keyName: name,
          id: '1',
          provider: config.provider,
          ref: config.ref,
          configKey: name,
          createdAt: undefined,
          cryptoperiodDays: undefined,
          status: 'active',
        },
        config.provider,
      );
      plain = new LogicalKey({
        name,
        versions: [version],
        active: version,
        enforcement: 'error',
        warnBeforeDays: 30,
        description: undefined,
        declared: false,
      });
      this.#plain.set(name, plain);
    }
    return plain;
  }

  #key(name: string): LogicalKey {
    const key = this.#findKey(name);
    if (!key) {
      throw new KeyswitchError(
        'CONFIG_INVALID',
        `no key named "${name}" in the key versions or the keyswitch configuration; configured: ${this.keyNames().join(', ') || '(none)'}`,
        { path: `versions.${name}` },
      );
    }
    return key;
  }

  async #forNewData(
    key: LogicalKey,
    requested: string | undefined,
    purpose: KeyPurpose,
  ): Promise<KeyVersion> {
    this.#assertOpen();
    const version = requested === undefined ? key.active : key.version(requested);
    if (!version) {
      throw new KeyswitchError(
        'KEY_NOT_FOUND',
        `has no version "${requested}"; configured: ${key.versionIds().join(', ')}`,
        { keyName: key.name },
      );
    }
    if (version !== key.active) {
      throw new KeyswitchError(
        'USAGE_MISMATCH',
        `version "${version.info.id}" is retired: it only decrypts and verifies (PCI DSS 3.7.5); new data uses version "${key.active.info.id}"`,
        { keyName: key.name, provider: version.info.provider, keyRef: version.info.ref },
      );
    }
    await version.provider(purpose);
    const end = cryptoperiodEnd(version);
    if (end !== undefined) {
      const now = this.#nowMs();
      if (now >= end.getTime()) {
        this.#report('cryptoperiod-expired', key, version, end);
        if (key.enforcement === 'error') {
          throw new KeyswitchError(
            'KEY_DISABLED',
            `version "${version.info.id}" reached the end of its ${version.info.cryptoperiodDays}-day cryptoperiod on ${end.toISOString()}: it may only decrypt and verify (PCI DSS 3.7.4); add a new version and make it active, then re-wrap`,
            { keyName: key.name, provider: version.info.provider, keyRef: version.info.ref },
          );
        }
      } else if (now >= end.getTime() - daysToMs(key.warnBeforeDays)) {
        this.#report('cryptoperiod-ending', key, version, end);
      }
    }
    return version;
  }

  /** Reports a cryptoperiod event at most once a day per version and kind. */
  #report(type: KeyringEvent['type'], key: LogicalKey, version: KeyVersion, end: Date): void {
    const now = this.#clock();
    const id = `${type}\0${key.name}\0${version.info.id}`;
    const last = this.#reported.get(id);
    if (last !== undefined && now.getTime() - last < EVENT_REPEAT_MS) return;
    this.#reported.set(id, now.getTime());
    const event: KeyringEvent = {
      type,
      time: now.toISOString(),
      keyName: key.name,
      keyVersion: version.info.id,
      provider: version.info.provider,
      keyRef: version.info.ref,
      expiresAt: end.toISOString(),
      enforcement: key.enforcement,
    };
    if (!this.#onEvent) {
      this.#ks.reportKeyEvent(event);
      return;
    }
    try {
      this.#onEvent(event);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const logger = this.#ks.logger;
      if (logger === undefined) {
        process.emitWarning(
          `[keyswitch] a keyring event listener threw: ${message}`,
          'KeyswitchAuditWarning',
        );
      } else {
        logSafely(logger, 'error', { error: message }, 'a keyring event listener threw');
      }
    }
  }
}
