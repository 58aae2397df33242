import { resolve } from 'node:path';
import { AuditBus } from '../audit/audit-bus.js';
import { AuditFileSink } from '../audit/audit-file-sink.js';
import type { AuditListener, AuditOperation } from '../audit/events.js';
import type { KeyVersionsConfig } from '../config/key-versions.js';
import { type LoadConfigOptions, loadConfig } from '../config/load-config.js';
import type { MultiKeyringsConfig } from '../config/multi-keyrings.js';
import type { KeyswitchConfig, KeyswitchConfigInput } from '../config/schema.js';
import { findSecretReferences, resolveSecret } from '../config/secrets.js';
import { isKeyswitchError, KeyswitchError } from '../errors.js';
import { DataKeys } from '../handles/data-keys.js';
import { type Decrypter, Encrypter } from '../handles/encrypter.js';
import { KeyAgreement } from '../handles/key-agreement.js';
import { Mac } from '../handles/mac.js';
import { Signer } from '../handles/signer.js';
import type { KeyDescription } from '../provider/contract.js';
import type { ProviderFactory } from '../provider/factory.js';
import type { KeyProvider } from '../provider/key-provider.js';
import { type KeyswitchLogger, logSafely } from '../telemetry/logger.js';
import { Observer } from '../telemetry/observer.js';
import type { ObservabilityOptions } from '../telemetry/telemetry-options.js';
import { buildKeyVersionSet } from './build-key-version-set.js';
import { CircuitBreaker, type CircuitBreakerOptions, type CircuitState } from './circuit-breaker.js';
import { KeyBinding, type KeyTarget } from './key-binding.js';
import type { CryptoperiodEvent, KeyVersionSet } from './key-version-set.js';
import { defaultSearchDirectories, loadProviderFactory } from './load-provider-factory.js';

/** Options for {@link Keyswitch.fromConfig}. */
export interface KeyswitchOptions extends LoadConfigOptions, ObservabilityOptions {
  /** Factories by provider type, used instead of importing the backend package (custom backends, tests). */
  readonly providerFactories?: Readonly<Record<string, ProviderFactory<unknown>>>;
  /** An audit listener subscribed before any operation. */
  readonly onAudit?: AuditListener;
  /**
   * When a provider's circuit breaker opens and for how long (used by keys with `replicas`): 3 failures
   * in a row, 5 s cool-down doubling to 60 s by default.
   */
  readonly circuitBreaker?: CircuitBreakerOptions;
}

interface ProviderSlot {
  readonly factory: ProviderFactory<unknown>;
  readonly config: unknown;
  /** The section's `timeoutMs`: the most one call may take on this provider. */
  readonly timeoutMs: number | undefined;
  instance?: Promise<KeyProvider> | undefined;
}

/**
 * The key registry: logical key names from configuration, bound to backend keys. App code asks for keys
 * by name and purpose and never names a backend; moving a key between backends is a configuration change.
 *
 * @example
 * ```ts
 * const ks = await Keyswitch.fromConfig();            // keyswitch.json, or the file in KEYSWITCH_CONFIG
 * const signature = await ks.signer('acs-signing').sign(payload);
 * const ciphertext = await ks.encrypter('pan-kek').encrypt(pan, { context: { tenant: 't1' } });
 * await ks.close();
 * ```
 */
export class Keyswitch {
  readonly #config: KeyswitchConfig;
  readonly #baseDir: string;
  readonly #env: NodeJS.ProcessEnv;
  readonly #audit: AuditBus;
  readonly #providers = new Map<string, ProviderSlot>();
  readonly #bindings = new Map<string, KeyBinding>();
  /** The version sets of `versions` entries, by handle kind and name, made on first use. */
  readonly #versionSets = new Map<string, KeyVersionSet>();
  /** One circuit breaker per provider, shared by every key with a copy there. */
  readonly #breakers = new Map<string, CircuitBreaker>();
  #auditFile: AuditFileSink | undefined;
  #closed = false;

  readonly #breakerOptions: CircuitBreakerOptions;
  /** Telemetry and logging (see ../telemetry/observer.ts); `undefined` when both are off. */
  readonly #observer: Observer | undefined;

  private constructor(
    config: KeyswitchConfig,
    baseDir: string,
    env: NodeJS.ProcessEnv,
    breakerOptions: CircuitBreakerOptions = {},
    observer: Observer | undefined = undefined,
  ) {
    this.#observer = observer;
    this.#audit = new AuditBus({ logger: observer?.logger });
    this.#config = config;
    this.#baseDir = baseDir;
    this.#env = env;
    this.#breakerOptions = breakerOptions;
  }

  /**
   * Loads and validates a configuration (an object, a file path, `KEYSWITCH_CONFIG`, or `keyswitch.json`),
   * imports the backend package of each configured provider type and validates its section, and opens
   * the `audit` file (relative to the configuration file's directory) as a subscribed
   * {@link AuditFileSink} (with `audit.failClosed`, operations fail with AUDIT_UNAVAILABLE while it
   * cannot be written, and return their result only once their own record is written). Backends connect on first use of one of their keys.
   *
   * @throws CONFIG_INVALID naming the JSON path of each problem (a secret reference whose variable is
   * unset or whose file cannot be read included: every one is read once at load, and not kept); LOCKED
   * when another process appends to the audit file
   */
  static async fromConfig(
    source?: string | KeyswitchConfigInput,
    options: KeyswitchOptions = {},
  ): Promise<Keyswitch> {
    const { config, baseDir } = await loadConfig(source, options);
    const observer = await Observer.create(options);
    const keyswitch = new Keyswitch(
      config,
      baseDir,
      options.env ?? process.env,
      options.circuitBreaker,
      observer,
    );
    if (options.onAudit) keyswitch.onAudit(options.onAudit);
    const factories = new Map<string, Promise<ProviderFactory>>();
    for (const [name, { timeoutMs, ...section }] of Object.entries(config.providers)) {
      const path = `providers.${name}`;
      const type = section.type;
      const injected = options.providerFactories?.[type];
      let factory = injected ? Promise.resolve(injected) : factories.get(type);
      if (!factory) {
        factory = loadProviderFactory(type, `${path}.type`, defaultSearchDirectories(baseDir));
        factories.set(type, factory);
      }
      const loaded = await factory;
      keyswitch.#providers.set(name, {
        factory: loaded,
        config: loaded.parseConfig(section, path),
        timeoutMs,
      });
    }
    for (const [name, key] of Object.entries(config.keys)) {
      const copies = [
        { provider: key.provider, ref: key.ref, path: `keys.${name}` },
        ...(key.replicas ?? []).map((replica, index) => ({
          ...replica,
          path: `keys.${name}.replicas.${index}`,
        })),
      ];
      // The key and each replica: a reference its backend cannot read is CONFIG_INVALID at its path.
      for (const copy of copies) {
        try {
          keyswitch.#providers.get(copy.provider)!.factory.validateKeyRef?.(copy.ref);
        } catch (error) {
          const detail = isKeyswitchError(error) ? error.detail : 'is not a valid key reference';
          throw new KeyswitchError('CONFIG_INVALID', `${detail}`, {
            path: `${copy.path}.ref`,
            keyName: name,
            cause: error,
          });
        }
      }
      keyswitch.#bindings.set(
        name,
        new KeyBinding(
          name,
          key,
          copies.map((copy) => keyswitch.#target(copy.provider, copy.ref, copy.path)),
          observer?.calls,
        ),
      );
    }
    // Every secret is read once now, so a missing variable or file is found at load, not at the first use
    // of a key; the value is dropped, and read again when the backend connects.
    for (const [name, slot] of keyswitch.#providers) {
      for (const { path, reference } of findSecretReferences(slot.config, `providers.${name}`)) {
        await resolveSecret(reference, { path, env: keyswitch.#env, baseDir });
      }
    }
    if (config.audit) {
      const sink = await AuditFileSink.open(resolve(baseDir, config.audit.file), {
        fsync: config.audit.fsync,
        ...observer?.auditFileOptions(config.audit.file),
      });
      keyswitch.#auditFile = sink;
      keyswitch.onAudit(sink.listener);
      // Fail closed (PCI DSS 10.x): no key operation runs while events cannot be recorded, and none
      // returns its result before its own record is written.
      if (config.audit.failClosed) {
        keyswitch.#audit.addGate(() => sink.check());
        keyswitch.#audit.setBarrier(() => sink.recorded());
      }
    }
    observer?.start(() => keyswitch.breakerStates());
    return keyswitch;
  }

  /** The `logger` option, for packages built on the registry (envelope's key rotation warnings). */
  get logger(): KeyswitchLogger | undefined {
    return this.#observer?.logger;
  }

  /** The configured environment. */
  get environment(): string {
    return this.#config.environment;
  }

  /** The logical key names in the configuration. */
  keyNames(): string[] {
    return [...this.#bindings.keys()];
  }

  /** The provider names in the configuration. */
  providerNames(): string[] {
    return [...this.#providers.keys()];
  }

  /** A logical key's configuration: provider, reference, spec, usage and algorithm (resolved defaults). */
  keyConfig(name: string) {
    const binding = this.#binding(name);
    return {
      name: binding.name,
      provider: binding.providerName,
      ref: binding.ref,
      spec: binding.spec,
      usage: binding.usage,
      algorithm: binding.algorithm,
    };
  }

  /**
   * The validated `versions` section: logical keys with several versions (rotation, migration between
   * backends), as `@keyswitch/envelope`'s `Keyring` reads it. Empty when the configuration has none.
   */
  keyVersions(): KeyVersionsConfig {
    return this.#config.versions ?? {};
  }

  /** The validated `multiKeyrings` section (envelope keys wrapped under several keys); `{}` without one. */
  multiKeyrings(): MultiKeyringsConfig {
    return this.#config.multiKeyrings ?? {};
  }

  /**
   * The audit file of the `audit` section, when configured: its `head()` is the chain's end to keep
   * elsewhere (PCI DSS 10.3.4), and `append()` takes other audit-style events (key lifecycle).
   */
  get auditFile(): AuditFileSink | undefined {
    return this.#auditFile;
  }

  /**
   * A signer for a SIGN_VERIFY key. A name in the `versions` section gives a signer over its versions: it
   * signs with the active one and verifies with every version in use.
   *
   * @throws CONFIG_INVALID (unknown name), USAGE_MISMATCH (not a signing key, or a version that is not)
   */
  signer(name: string): Signer {
    const versions = this.#versionSet(name, 'SIGN_VERIFY', 'signer');
    if (versions !== undefined) return new Signer(versions.active.binding, versions);
    return new Signer(this.#binding(name, 'SIGN_VERIFY', 'signer'));
  }

  /**
   * An encrypter (and decrypter) for an ENCRYPT_DECRYPT key. A name in the `versions` section gives one
   * over its versions: it encrypts under the active one and decrypts under every version in use.
   */
  encrypter(name: string): Encrypter {
    const versions = this.#versionSet(name, 'ENCRYPT_DECRYPT', 'encrypter');
    if (versions !== undefined) return new Encrypter(versions.active.binding, versions);
    return new Encrypter(this.#binding(name, 'ENCRYPT_DECRYPT', 'encrypter'));
  }

  /** A decrypt-only view of an ENCRYPT_DECRYPT key. */
  decrypter(name: string): Decrypter {
    return this.encrypter(name);
  }

  /** A MAC handle for a GENERATE_VERIFY_MAC key. */
  mac(name: string): Mac {
    const versions = this.#versionSet(name, 'GENERATE_VERIFY_MAC', 'mac');
    if (versions !== undefined) return new Mac(versions.active.binding, versions);
    return new Mac(this.#binding(name, 'GENERATE_VERIFY_MAC', 'mac'));
  }

  /** A key agreement handle for a KEY_AGREEMENT key. */
  keyAgreement(name: string): KeyAgreement {
    const versions = this.#versionSet(name, 'KEY_AGREEMENT', 'key agreement');
    if (versions !== undefined) return new KeyAgreement(versions.active.binding, versions);
    return new KeyAgreement(this.#binding(name, 'KEY_AGREEMENT', 'key agreement'));
  }

  /** Data keys under a SYMMETRIC_DEFAULT key. */
  dataKeys(name: string): DataKeys {
    const binding = this.#binding(name, 'ENCRYPT_DECRYPT', 'data key source');
    if (binding.spec !== 'SYMMETRIC_DEFAULT') {
      throw new KeyswitchError(
        'USAGE_MISMATCH',
        `is ${binding.spec}; data keys need a SYMMETRIC_DEFAULT key`,
        {
          keyName: name,
        },
      );
    }
    return new DataKeys(binding);
  }

  /** Describes the backend key behind a logical name (spec, usage, state, dates). */
  async describe(name: string): Promise<KeyDescription> {
    const binding = this.#binding(name);
    const provider = await binding.provider();
    return provider.describeKey(binding.ref, binding.call);
  }

  /**
   * Random bytes from a backend's generator (the named provider, or the first configured).
   */
  async random(length: number, options: { provider?: string } = {}): Promise<Uint8Array> {
    const name = options.provider ?? this.providerNames()[0];
    if (name === undefined) throw new KeyswitchError('CONFIG_INVALID', 'no providers are configured');
    return (await this.provider(name)).generateRandom(length);
  }

  /**
   * The provider instance for a configured provider name, created on first call. An escape hatch for
   * tooling (key creation, conformance runs); applications use the handles.
   */
  provider(name: string): Promise<KeyProvider> {
    if (this.#closed)
      return Promise.reject(new KeyswitchError('CLOSED', 'this keyswitch instance is closed'));
    const slot = this.#providers.get(name);
    if (!slot) {
      return Promise.reject(
        new KeyswitchError(
          'CONFIG_INVALID',
          `no provider named "${name}"; configured: ${this.providerNames().join(', ')}`,
          {
            path: `providers.${name}`,
          },
        ),
      );
    }
    if (!slot.instance) {
      const path = `providers.${name}`;
      slot.instance = slot.factory.create(slot.config, {
        name,
        environment: this.#config.environment,
        baseDir: this.#baseDir,
        path,
        audit: this.#audit,
        resolveSecret: (reference, field) =>
          resolveSecret(reference, { path: `${path}.${field}`, env: this.#env, baseDir: this.#baseDir }),
      });
      this.#observer?.watchProvider(name, slot.instance);
      slot.instance.catch((error: unknown) => {
        // A transient failure is forgotten, so the next use tries again. A refused credential or a bad
        // configuration is remembered: retrying a wrong PIN on every request would lock the HSM user out.
        if (!isKeyswitchError(error, 'ACCESS_DENIED', 'CONFIG_INVALID')) slot.instance = undefined;
      });
    }
    return slot.instance;
  }

  /**
   * Subscribes to audit events of every operation on every provider, or of `operations` only; returns
   * the unsubscribe function.
   */
  onAudit(
    listener: AuditListener,
    options: { readonly operations?: readonly AuditOperation[] } = {},
  ): () => void {
    return this.#audit.subscribe(listener, options.operations);
  }

  /**
   * Closes every provider that was opened, after work in flight drains, then the audit file (its last
   * lines written and synced). Idempotent.
   */
  async close(): Promise<void> {
    this.#closed = true;
    this.#observer?.close();
    const opened = [...this.#providers.values()].flatMap((slot) => (slot.instance ? [slot.instance] : []));
    for (const slot of this.#providers.values()) slot.instance = undefined;
    const results = await Promise.allSettled(
      opened.map(async (instance) => {
        // A provider that never opened has nothing to close; its failure was reported to its caller.
        const provider = await instance.catch(() => undefined);
        await provider?.close();
      }),
    );
    if (this.#auditFile) results.push(...(await Promise.allSettled([this.#auditFile.close()])));
    const failure = results.find((result) => result.status === 'rejected');
    if (failure) throw (failure as PromiseRejectedResult).reason;
  }

  /**
   * The state of each provider's circuit breaker (used when keys have replicas): `closed` (calls go
   * there), `open` (skipped until its cool-down ends) or `half-open` (one probe call goes there).
   */
  breakerStates(): Readonly<Record<string, CircuitState>> {
    return Object.fromEntries([...this.#breakers].map(([name, breaker]) => [name, breaker.state]));
  }

  #target(providerName: string, ref: string, path: string): KeyTarget {
    return {
      providerName,
      ref,
      path,
      getProvider: () => this.provider(providerName),
      breaker: this.#breaker(providerName),
      timeoutMs: this.#providers.get(providerName)?.timeoutMs,
    };
  }

  /** The versions of a `versions` entry named `name`, or `undefined` when it has none. */
  #versionSet(
    name: string,
    usage: Parameters<KeyBinding['requireUsage']>[0],
    handle: string,
  ): KeyVersionSet | undefined {
    if (this.#closed) throw new KeyswitchError('CLOSED', 'this keyswitch instance is closed');
    const declared = this.#config.versions;
    if (declared === undefined || !Object.hasOwn(declared, name)) return undefined;
    const config = declared[name]!;
    const cacheKey = `${usage}\0${name}`;
    let set = this.#versionSets.get(cacheKey);
    if (set === undefined) {
      set = buildKeyVersionSet(name, config, usage, handle, {
        bindingOf: (keyName) => this.#binding(keyName),
        bindingFor: (logicalName, keyConfig, path) =>
          new KeyBinding(
            logicalName,
            keyConfig,
            [this.#target(keyConfig.provider, keyConfig.ref, path)],
            this.#observer?.calls,
          ),
        policy: {
          enforcement: config.cryptoperiodEnforcement ?? 'error',
          warnBeforeDays: config.warnBeforeDays ?? 30,
          now: () => Date.now(),
          report: (event) => this.reportKeyEvent(event),
        },
      });
      this.#versionSets.set(cacheKey, set);
    }
    return set;
  }

  /**
   * Reports a key lifecycle event as the registry reports its own: a line in the audit file when one is
   * configured, and a process warning (a log line with the `logger` option). `@keyswitch/envelope`'s
   * keyring reports its cryptoperiod events here when it has no listener of its own.
   *
   * @example
   * ```ts
   * ks.reportKeyEvent({ type: 'cryptoperiod-ending', keyName: 'pan-kek', keyVersion: '2025', … });
   * ```
   */
  reportKeyEvent(event: CryptoperiodEvent): void {
    try {
      this.#auditFile?.append(event);
    } catch {
      // A closed or failed audit file is reported by close(); the warning still goes out.
    }
    const text = `${event.type === 'cryptoperiod-ending' ? 'cryptoperiod ends' : 'cryptoperiod ended'} ${event.expiresAt}`;
    const logger = this.#observer?.logger;
    if (logger !== undefined) logSafely(logger, 'warn', event, `key version ${text}`);
    else {
      process.emitWarning(
        `[keyswitch] key "${event.keyName}" version "${event.keyVersion}": ${text}`,
        'KeyswitchCryptoperiodWarning',
      );
    }
  }

  #breaker(provider: string): CircuitBreaker {
    let breaker = this.#breakers.get(provider);
    if (breaker === undefined) {
      breaker = new CircuitBreaker(
        this.#observer?.breakerOptions(provider, this.#breakerOptions) ?? this.#breakerOptions,
      );
      this.#breakers.set(provider, breaker);
    }
    return breaker;
  }

  #binding(name: string, usage?: Parameters<KeyBinding['requireUsage']>[0], handle?: string): KeyBinding {
    if (this.#closed) throw new KeyswitchError('CLOSED', 'this keyswitch instance is closed');
    const binding = this.#bindings.get(name);
    if (!binding) {
      throw new KeyswitchError(
        'CONFIG_INVALID',
        `no key named "${name}" in the configuration; configured: ${this.keyNames().join(', ') || '(none)'}`,
        { path: `keys.${name}` },
      );
    }
    if (usage !== undefined && handle !== undefined) binding.requireUsage(usage, handle);
    return binding;
  }
}
