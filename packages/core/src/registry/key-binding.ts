import type { KeyConfig } from '../config/schema.js';
import { KeyswitchError } from '../errors.js';
import type { KeyDescription } from '../provider/contract.js';
import type { CallContext } from '../provider/hook-inputs.js';
import type { KeyProvider } from '../provider/key-provider.js';
import { type Algorithm, algorithmInfo, algorithmsFor } from '../vocabulary/algorithms.js';
import { type KeySpec, type KeyUsage, keySpecInfo } from '../vocabulary/key-specs.js';

const PREFERRED: readonly Algorithm[] = ['RSASSA_PSS_SHA_256', 'RSAES_OAEP_SHA_256'];

/**
 * A logical key bound to its provider and reference. On first use it checks the backend key against the
 * configuration (spec and usage) once; a mismatch is CONFIG_INVALID naming the key.
 */
export class KeyBinding {
  readonly name: string;
  readonly providerName: string;
  readonly ref: string;
  readonly spec: KeySpec;
  readonly usage: KeyUsage;
  readonly algorithm: Algorithm;
  readonly #getProvider: () => Promise<KeyProvider>;
  #checked: Promise<KeyProvider> | undefined;

  constructor(name: string, config: KeyConfig, getProvider: () => Promise<KeyProvider>) {
    this.name = name;
    this.providerName = config.provider;
    this.ref = config.ref;
    this.spec = config.spec;
    // The schema guarantees a usage can be derived: from the algorithm, the usage field or the spec.
    this.usage =
      config.usage ??
      (config.algorithm ? algorithmInfo(config.algorithm).usage : keySpecInfo(config.spec).usages[0]!);
    const allowed = algorithmsFor(this.spec, this.usage);
    this.algorithm = config.algorithm ?? allowed.find((a) => PREFERRED.includes(a)) ?? allowed[0]!;
    this.#getProvider = getProvider;
  }

  /** What the registry passes to provider calls so errors and audit events name the logical key. */
  get call(): CallContext {
    return { keyName: this.name };
  }

  /** The provider, after the one-time check that the backend key matches the configuration. */
  provider(): Promise<KeyProvider> {
    if (!this.#checked) {
      this.#checked = this.#check();
      // A transient failure (backend unreachable) is not remembered: the next use checks again.
      this.#checked.catch(() => {
        this.#checked = undefined;
      });
    }
    return this.#checked;
  }

  /** Throws USAGE_MISMATCH unless the key's configured usage is `usage` (a handle of the wrong kind). */
  requireUsage(usage: KeyUsage, handle: string): void {
    if (this.usage !== usage) {
      throw new KeyswitchError(
        'USAGE_MISMATCH',
        `is configured for ${this.usage}; a ${handle} needs ${usage}`,
        {
          keyName: this.name,
          provider: this.providerName,
        },
      );
    }
  }

  async #check(): Promise<KeyProvider> {
    let provider: KeyProvider;
    let description: KeyDescription;
    try {
      provider = await this.#getProvider();
      description = await provider.describeKey(this.ref, this.call);
    } catch (error) {
      throw error instanceof KeyswitchError
        ? error.withContext({ keyName: this.name, provider: this.providerName })
        : error;
    }
    const where = { keyName: this.name, provider: this.providerName, keyRef: this.ref };
    if (description.spec !== this.spec) {
      throw new KeyswitchError(
        'CONFIG_INVALID',
        `is configured as ${this.spec} but the backend key is ${description.spec}`,
        { ...where, path: `keys.${this.name}.spec` },
      );
    }
    // A key that allows several usages (PKCS#11 keys made by other tools) is accepted for any of them.
    if (!(description.usages ?? [description.usage]).includes(this.usage)) {
      throw new KeyswitchError(
        'CONFIG_INVALID',
        `is configured for ${this.usage} (${this.algorithm}) but the backend key's usage is ${description.usage}`,
        { ...where, path: `keys.${this.name}.algorithm` },
      );
    }
    return provider;
  }
}
