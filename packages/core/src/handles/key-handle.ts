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

/** What a call to one version gets inside the handle call's own deadline: its request id and signal. */
function versionCall(options: CallOptions): CallOptions {
  return { requestId: options.requestId, signal: options.signal };
}

/** The version new data goes under: the active one, within its cryptoperiod. */
const forNewData = (versions: KeyVersionSet) => versions.forNewData();

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
              versionCall(options),
              'getPublicKey',
            ),
          })),
        ),
      options,
    );
  }

  /**
   * @internal Runs `run` on the key; for a key with versions, on the version `pick` chooses (the active
   * one for new data), inside the call's deadline.
   */
  protected onVersion<T>(
    pick: (versions: KeyVersionSet) => Promise<KeyBinding>,
    run: (binding: KeyBinding, options: CallOptions) => Promise<T>,
    options: CallOptions,
  ): Promise<T> {
    const versions = this.keyVersions;
    if (versions === undefined) return run(this.binding, options);
    return withCallDeadline(async () => run(await pick(versions), versionCall(options)), options);
  }

  /** @internal Runs `run` on the key; for a key with versions, on its active version (new data). */
  protected onActive<T>(
    run: (binding: KeyBinding, options: CallOptions) => Promise<T>,
    options: CallOptions,
  ): Promise<T> {
    return this.onVersion(forNewData, run, options);
  }

  /**
   * @internal For a key with versions: `attempt` on each version in use, the one `kid` names first, until
   * one answers (see {@link KeyVersionSet.firstAnswer}), inside the call's deadline.
   */
  protected inTurn<T>(
    versions: KeyVersionSet,
    kid: string | undefined,
    attempt: (binding: KeyBinding, options: CallOptions) => Promise<T | undefined>,
    options: CallOptions,
  ): Promise<T | undefined> {
    const inner = versionCall(options);
    return withCallDeadline(() => versions.firstAnswer(kid, (binding) => attempt(binding, inner)), options);
  }
}
