import type { PublicKey } from '../encoding/public-key.js';
import type { KeyDescription } from '../provider/contract.js';
import { type CallOptions, withCallDeadline } from '../registry/call-deadline.js';
import type { KeyBinding } from '../registry/key-binding.js';
import type { KeyVersionSet, KeyVersionStatus } from '../registry/key-version-set.js';
import type { Algorithm } from '../vocabulary/algorithms.js';
import type { KeySpec } from '../vocabulary/key-specs.js';

/** The public key of one version of a key, to publish (a JWKS that keeps the old key during a rotation). */
export interface VersionPublicKey {
  readonly versionId: string;
  readonly status: 'active' | 'retired';
  readonly publicKey: PublicKey;
}

/** What every handle shares: its logical name, spec and algorithm, and the backend key's description. */
export abstract class KeyHandle<A extends Algorithm = Algorithm> {
  /** @internal */
  protected readonly binding: KeyBinding;
  /** @internal The logical key's versions, when the configuration's `versions` section lists it. */
  protected readonly keyVersions: KeyVersionSet | undefined;

  /**
   * @internal Handles are made by {@link Keyswitch}, not constructed directly. With `versions`, `binding`
   * is the active version's.
   */
  constructor(binding: KeyBinding, versions?: KeyVersionSet) {
    this.binding = binding;
    this.keyVersions = versions;
  }

  /** The logical key name from the configuration (the `versions` entry's name for a key with versions). */
  get keyName(): string {
    return this.keyVersions?.name ?? this.binding.name;
  }

  /**
   * The key's versions, oldest first, with their status: `active` (signs, encrypts), `retired` (only
   * verifies, decrypts) or `disabled` (past its `disabledFrom`). A key without versions has one, `"1"`.
   */
  versions(): KeyVersionStatus[] {
    if (this.keyVersions !== undefined) return this.keyVersions.statuses();
    const { name, providerName, ref } = this.binding;
    return [{ id: '1', status: 'active', keyName: name, provider: providerName, ref }];
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

  /** @internal The public key of an asymmetric key (of the active version, for a key with versions). */
  protected async publicKeyOf(options: CallOptions = {}): Promise<PublicKey> {
    return this.binding.use(
      (provider, ref, call) => provider.getPublicKey(ref, call),
      options,
      'getPublicKey',
    );
  }

  /** @internal The public keys of every version in use, the active one first. */
  protected publicKeysOf(options: CallOptions = {}): Promise<VersionPublicKey[]> {
    const versions = this.keyVersions;
    if (versions === undefined) {
      return this.publicKeyOf(options).then((publicKey) => [{ versionId: '1', status: 'active', publicKey }]);
    }
    return withCallDeadline(
      () =>
        Promise.all(
          versions.usable().map(async (member) => ({
            versionId: member.id,
            status: member === versions.active ? ('active' as const) : ('retired' as const),
            publicKey: await member.binding.use(
              (provider, ref, call) => provider.getPublicKey(ref, call),
              { requestId: options.requestId, signal: options.signal },
              'getPublicKey',
            ),
          })),
        ),
      options,
    );
  }
}
