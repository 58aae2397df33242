import type { PublicKey } from '../encoding/public-key.js';
import type { KeyDescription } from '../provider/contract.js';
import type { CallOptions } from '../registry/call-deadline.js';
import type { KeyBinding } from '../registry/key-binding.js';
import type { Algorithm } from '../vocabulary/algorithms.js';
import type { KeySpec } from '../vocabulary/key-specs.js';

/** What every handle shares: its logical name, spec and algorithm, and the backend key's description. */
export abstract class KeyHandle<A extends Algorithm = Algorithm> {
  /** @internal */
  protected readonly binding: KeyBinding;

  /** @internal Handles are made by {@link Keyswitch}, not constructed directly. */
  constructor(binding: KeyBinding) {
    this.binding = binding;
  }

  /** The logical key name from the configuration. */
  get keyName(): string {
    return this.binding.name;
  }

  /** The configured key spec. */
  get spec(): KeySpec {
    return this.binding.spec;
  }

  /** The algorithm this handle uses (from configuration). */
  get algorithm(): A {
    return this.binding.algorithm as A;
  }

  /** The configured provider's name. */
  get providerName(): string {
    return this.binding.providerName;
  }

  /** The backend key's current description (state, dates). */
  async describe(options: CallOptions = {}): Promise<KeyDescription> {
    return this.binding.use((provider, ref, call) => provider.describeKey(ref, call), options, 'describeKey');
  }

  /** @internal The public key of an asymmetric key. */
  protected async publicKeyOf(options: CallOptions = {}): Promise<PublicKey> {
    return this.binding.use(
      (provider, ref, call) => provider.getPublicKey(ref, call),
      options,
      'getPublicKey',
    );
  }
}
