import type { KeyProvider, Keyswitch } from '@keyswitch/core';
import { type CommandContext, openKeyswitch } from './context.js';
import type { RunKeys } from './run-keys.js';

/**
 * The providers of a conformance run, opened from the configuration: a fresh instance for each group of
 * the suite (so opening and closing are exercised as an application would), or one shared instance
 * where a backend cannot be opened twice in one process (a software-HSM keystore file is locked by its
 * writer). Every instance is wrapped by the run's {@link RunKeys}.
 */
export class ProviderSource {
  readonly #context: CommandContext;
  readonly #configPath: string | undefined;
  readonly #providerName: string;
  readonly #runKeys: RunKeys;
  readonly #tag: string;
  readonly #registries: Keyswitch[] = [];
  #shared: KeyProvider | undefined;
  #type = '';
  #canImport = false;
  #nonexistentKeyRef: string | undefined;

  /** `tag` names this source in the run's key records (default: the provider's name). */
  constructor(
    context: CommandContext,
    configPath: string | undefined,
    providerName: string,
    runKeys: RunKeys,
    tag: string = providerName,
  ) {
    this.#context = context;
    this.#configPath = configPath;
    this.#providerName = providerName;
    this.#tag = tag;
    this.#runKeys = runKeys;
  }

  /** The provider's name in the configuration. */
  get name(): string {
    return this.#providerName;
  }

  /** The backend type, once opened. */
  get type(): string {
    return this.#type;
  }

  /** Whether the backend can import key material, as its capability manifest says. */
  get canImport(): boolean {
    return this.#canImport;
  }

  /**
   * A well-formed reference no key has on this backend (the provider's `nonexistentKeyRef()`), once
   * opened; undefined when the backend cannot name one.
   */
  get nonexistentKeyRef(): string | undefined {
    return this.#nonexistentKeyRef;
  }

  /** The shared provider, when the run uses one. */
  get shared(): KeyProvider | undefined {
    return this.#shared;
  }

  /**
   * Opens the provider once, so configuration errors surface before the run, and decides whether the
   * run shares one instance (`shared` forces it).
   *
   * @throws CONFIG_INVALID for a configuration or provider problem
   */
  async open(shared: boolean): Promise<void> {
    const first = await this.#openRaw();
    this.#type = first.type;
    // The manifest says whether the backend imports (the software HSM, KMS, a PKCS#11 token whose probe
    // found C_CreateObject takes keys); a backend that cannot is run on keys it creates.
    this.#canImport = await first.capabilities().then(
      (capabilities) => capabilities.operations.importKey === true,
      () => false,
    );
    try {
      this.#nonexistentKeyRef = first.nonexistentKeyRef();
    } catch {
      this.#nonexistentKeyRef = undefined; // UNSUPPORTED_OPERATION: the suite uses its placeholder
    }
    const lockedKeystore =
      first.type === 'soft-hsm' && (first as { keystore?: string }).keystore !== undefined;
    if (shared || lockedKeystore) this.#shared = this.#runKeys.wrap(first, this.#tag);
    else await first.close();
  }

  /** A fresh provider (or the shared one), wrapped. */
  async provider(): Promise<KeyProvider> {
    if (this.#shared) return this.#shared;
    return this.#runKeys.wrap(await this.#openRaw(), this.#tag);
  }

  /** Closes every registry this source opened. */
  async close(): Promise<void> {
    await Promise.allSettled(this.#registries.map((registry) => registry.close()));
    this.#registries.length = 0;
  }

  async #openRaw(): Promise<KeyProvider> {
    const registry = await openKeyswitch(this.#context, this.#configPath);
    this.#registries.push(registry);
    return registry.provider(this.#providerName);
  }
}
