import type { ParsedPublicKey } from '../encoding/spki.js';
import type { MacAlgorithm } from '../vocabulary/algorithms.js';
import type {
  Capabilities,
  CreateKeyRequest,
  DataKeySpec,
  EncryptionContext,
  KeyDescription,
  KeyList,
} from './contract.js';
import type { CallContext, CipherInput, ImportKeyInput, KeyFacts, SignInput } from './hook-inputs.js';
import type { PoolStats } from './pool-stats.js';

/**
 * The hooks a backend implements: what {@link KeyProvider} calls once it has checked a request. Every
 * hook but `onCapabilities` and `onDescribeKey` is optional; the operation of a missing hook fails with
 * UNSUPPORTED_OPERATION. Backends extend {@link KeyProvider}, never this class.
 *
 * @example
 * ```ts
 * class MyHsm extends KeyProvider {
 *   readonly type = 'my-hsm';
 *   protected onCapabilities() { return myManifest; }
 *   protected async onDescribeKey(ref: string) { return lookUp(ref); }
 * }
 * ```
 */
export abstract class KeyProviderHooks {
  /** The capability manifest. Called once; the result is cached. */
  protected abstract onCapabilities(): Capabilities | Promise<Capabilities>;
  /** Describes a key, with its current state. Unknown references: KEY_NOT_FOUND. */
  protected abstract onDescribeKey(ref: string): Promise<KeyDescription>;
  protected onListKeys?(options: { limit: number; nextToken?: string }): Promise<KeyList>;
  protected onCreateKey?(request: CreateKeyRequest): Promise<KeyDescription>;
  /** Stores imported key material; a label already in use is KEY_EXISTS. */
  protected onImportKey?(input: ImportKeyInput): Promise<KeyDescription>;
  /**
   * A well-formed reference no key has or ever will have (a random name, a `pkcs11:` URI with a random
   * label, a random KMS key id), so that checks of KEY_NOT_FOUND need nothing from the caller.
   */
  protected onNonexistentKeyRef?(): string;
  protected onEnableKey?(key: KeyFacts): Promise<void>;
  protected onDisableKey?(key: KeyFacts): Promise<void>;
  /** Schedules deletion; returns the deletion date. */
  protected onScheduleKeyDeletion?(key: KeyFacts, pendingWindowDays: number): Promise<Date>;
  /** Cancels a scheduled deletion; the key returns DISABLED, as in AWS KMS. */
  protected onCancelKeyDeletion?(key: KeyFacts): Promise<void>;
  /** The key's public key as SPKI DER. */
  protected onGetPublicKey?(key: KeyFacts, call?: CallContext): Promise<Uint8Array>;
  protected onSign?(key: KeyFacts, input: SignInput, call?: CallContext): Promise<Uint8Array>;
  protected onVerify?(
    key: KeyFacts,
    input: SignInput & { readonly signature: Uint8Array },
    call?: CallContext,
  ): Promise<boolean>;
  protected onEncrypt?(key: KeyFacts, input: CipherInput, call?: CallContext): Promise<Uint8Array>;
  /** Ciphertext that does not authenticate (tampered, wrong context, wrong key): INVALID_CIPHERTEXT. */
  protected onDecrypt?(key: KeyFacts, input: CipherInput, call?: CallContext): Promise<Uint8Array>;
  protected onGenerateMac?(
    key: KeyFacts,
    input: { algorithm: MacAlgorithm; message: Uint8Array },
    call?: CallContext,
  ): Promise<Uint8Array>;
  protected onVerifyMac?(
    key: KeyFacts,
    input: { algorithm: MacAlgorithm; message: Uint8Array; mac: Uint8Array },
    call?: CallContext,
  ): Promise<boolean>;
  /** Raw ECDH shared secret (the x coordinate, field-size bytes) with a peer key on the key's curve. */
  protected onDeriveSharedSecret?(
    key: KeyFacts,
    peer: ParsedPublicKey,
    call?: CallContext,
  ): Promise<Uint8Array>;
  /**
   * A data key wrapped by a SYMMETRIC_DEFAULT key. Optional: without it the core draws random bytes and
   * encrypts them with `onEncrypt`, which gives a blob `decrypt` opens. With `withPlaintext` false the
   * hook may leave `plaintext` out (a backend that can keep the key from ever leaving it should).
   */
  protected onGenerateDataKey?(
    key: KeyFacts,
    input: { dataKeySpec: DataKeySpec; context: EncryptionContext | undefined; withPlaintext: boolean },
  ): Promise<{ plaintext?: Uint8Array; ciphertextBlob: Uint8Array }>;
  protected onGenerateRandom?(length: number): Promise<Uint8Array>;
  /** Releases the backend; called once, after work in flight has drained. */
  protected onClose?(): Promise<void>;

  /**
   * What the provider's pools (sessions, worker threads) hold now, read by the pool gauges of
   * keyswitch's telemetry at each collection: cheap and synchronous, never a call to the backend.
   * `undefined` (the default) for a provider without pools.
   */
  poolStats(): PoolStats | undefined {
    return undefined;
  }
}
