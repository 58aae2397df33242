import type { KeyObject } from 'node:crypto';
import type { AuditBus } from '../audit/audit-bus.js';
import type { EncryptionAlgorithm, SigningAlgorithm } from '../vocabulary/algorithms.js';
import type { KeySpec, KeyUsage } from '../vocabulary/key-specs.js';
import type { EncryptionContext, ImportKeyKind, MessageType } from './contract.js';

/**
 * What never changes about a key: what the core checks requests against and hands to the hooks.
 *
 * @example
 * ```ts
 * protected override async onEnableKey(key: KeyFacts) {
 *   await myHsm.setEnabled(key.ref, true);
 * }
 * ```
 */
export interface KeyFacts {
  /** The reference the caller used. */
  readonly ref: string;
  readonly spec: KeySpec;
  readonly usage: KeyUsage;
  /** Every usage the key allows (`usage` first). */
  readonly usages: readonly KeyUsage[];
  readonly version?: string;
}

/**
 * Who is calling: the registry passes the logical key name so errors and audit events name it, and the
 * caller's request id (1 to 128 characters, no control characters) so audit events carry it.
 *
 * @example
 * ```ts
 * await provider.sign({ ref, algorithm: 'ECDSA_SHA_256', message }, { keyName: 'acs-signing', requestId: 'txn-1' });
 * ```
 */
export interface CallContext {
  readonly keyName?: string;
  /** The caller's request id, as given in the handle call's `requestId` option. */
  readonly requestId?: string;
  /**
   * The caller's AbortSignal, as given in the handle call's `signal` option: a backend that can stop a
   * request in flight (an HTTP request) stops it when it fires. Hooks receive the call as their last
   * argument.
   */
  readonly signal?: AbortSignal;
}

/**
 * What every provider is constructed with.
 *
 * @example
 * ```ts
 * const provider = new MyHsm({ name: 'hsm', audit: registry.audit });
 * ```
 */
export interface KeyProviderOptions {
  /** The provider's name in the configuration (`kms`, `hsm`, `dev`); defaults to its type. */
  readonly name?: string;
  /** Where audit events go; a provider made by the registry shares the registry's bus. */
  readonly audit?: AuditBus;
}

/**
 * Arguments the signing hooks receive, already checked. ECDSA signatures are in the backend's native
 * format ({@link SigningTraits.ecdsaSignatureFormat}, DER unless declared) both ways. A RAW message is
 * within the backend's {@link SigningTraits.rawMessageBytes}; the core hashed any other one into a DIGEST.
 *
 * @example
 * ```ts
 * protected override async onSign(key: KeyFacts, input: SignInput) {
 *   return myHsm.sign(key.ref, input.algorithm, input.message, input.messageType === 'DIGEST');
 * }
 * ```
 */
export interface SignInput {
  readonly algorithm: SigningAlgorithm;
  readonly message: Uint8Array;
  readonly messageType: MessageType;
}

/**
 * What the import hook receives: key material the core has read and checked once, as a node:crypto key
 * (private, secret or public by `kind`), with its spec derived from the key itself.
 *
 * @example
 * ```ts
 * protected override async onImportKey(input: ImportKeyInput) {
 *   return myHsm.unwrapAndStore(input.key, { label: input.label, usage: input.usage });
 * }
 * ```
 */
export interface ImportKeyInput {
  readonly kind: ImportKeyKind;
  readonly spec: KeySpec;
  readonly usage: KeyUsage;
  /** A private key (RSA, EC), a secret key (AES, HMAC) or a public key, by `kind`. Never log it. */
  readonly key: KeyObject;
  readonly label?: string;
  readonly description?: string;
  readonly tags?: Readonly<Record<string, string>>;
}

/**
 * Arguments the encryption hooks receive, already checked.
 *
 * @example
 * ```ts
 * protected override async onEncrypt(key: KeyFacts, input: CipherInput) {
 *   return myHsm.encrypt(key.ref, input.algorithm, input.data, input.context);
 * }
 * ```
 */
export interface CipherInput {
  readonly algorithm: EncryptionAlgorithm;
  readonly data: Uint8Array;
  readonly context: EncryptionContext | undefined;
}
