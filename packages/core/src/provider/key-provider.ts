import { createHash, type KeyObject } from 'node:crypto';
import { AuditBus } from '../audit/audit-bus.js';
import type { AuditOperation } from '../audit/events.js';
import { type PublicKey, publicKeyFromSpki } from '../encoding/public-key.js';
import { type ParsedPublicKey, parseSpki } from '../encoding/spki.js';
import { isKeyswitchError, KeyswitchError, redactReference } from '../errors.js';
import { assertBytes, assertContext, assertRef, describeType } from '../lib/checks.js';
import {
  type Algorithm,
  algorithmInfo,
  algorithmsFor,
  type EncryptionAlgorithm,
  isAlgorithm,
  type MacAlgorithm,
  type SigningAlgorithm,
} from '../vocabulary/algorithms.js';
import { isKeySpec, isKeyUsage, type KeySpec, type KeyUsage, keySpecInfo } from '../vocabulary/key-specs.js';
import {
  type Capabilities,
  type CreateKeyRequest,
  type DataKey,
  type DataKeySpec,
  DEFAULT_SIGNING_TRAITS,
  type DecryptRequest,
  type DeriveSharedSecretRequest,
  type EncryptionContext,
  type EncryptRequest,
  type ExtensionName,
  type GenerateDataKeyRequest,
  type ImportKeyKind,
  type ImportKeyRequest,
  type KeyDescription,
  type KeyList,
  LIMITS,
  type MacRequest,
  type MessageType,
  type SigningTraits,
  type SignRequest,
  type VerifyMacRequest,
  type VerifyRequest,
} from './contract.js';
import { readImportRequest } from './import/read-import-request.js';
import { signatureForBackend, signatureFromBackend } from './signature-rules.js';

/** What never changes about a key: what the core checks requests against and hands to the hooks. */
export interface KeyFacts {
  /** The reference the caller used. */
  readonly ref: string;
  readonly spec: KeySpec;
  readonly usage: KeyUsage;
  /** Every usage the key allows (`usage` first). */
  readonly usages: readonly KeyUsage[];
  readonly version?: string;
}

/** Who is calling: the registry passes the logical key name so errors and audit events name it. */
export interface CallContext {
  readonly keyName?: string;
}

/** What every provider is constructed with. */
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

/** Arguments the encryption hooks receive, already checked. */
export interface CipherInput {
  readonly algorithm: EncryptionAlgorithm;
  readonly data: Uint8Array;
  readonly context: EncryptionContext | undefined;
}

/**
 * The base every backend extends. Its public methods are the provider contract: they validate arguments
 * once, check the algorithm against the capability manifest and the key's spec and usage, convert
 * signature formats (at most once), wrap failures in {@link KeyswitchError}, emit one audit event per
 * operation, and track work in flight so that `close()` drains it. Backends implement the protected `on*`
 * hooks; an operation whose hook a backend lacks fails with UNSUPPORTED_OPERATION. A backend's own extra
 * operations (aliases, rotation) are declared in {@link Capabilities.extensions} and run through
 * {@link KeyProvider.runExtension}, with the same checks and audit.
 *
 * Backends must, in their hooks: refuse disabled and pending-deletion keys with KEY_DISABLED, answer
 * KEY_NOT_FOUND for unknown references, and sign and verify ECDSA in the format their manifest declares.
 *
 * @example
 * ```ts
 * class MyHsm extends KeyProvider {
 *   readonly type = 'my-hsm';
 *   protected onCapabilities() { return myManifest; }
 *   protected async onDescribeKey(ref: string) { return lookUp(ref); }
 *   protected override async onSign(key: KeyFacts, input: SignInput) { return hsm.sign(key.ref, input); }
 * }
 * ```
 */
export abstract class KeyProvider {
  /** The backend type, as written in configuration (`soft-hsm`, `pkcs11`, `aws-kms`). */
  abstract readonly type: string;
  readonly #name: string | undefined;
  readonly #audit: AuditBus;
  readonly #facts = new Map<string, Promise<KeyFacts>>();
  #capabilities: Promise<Capabilities> | undefined;
  #inFlight = 0;
  #drained: (() => void) | undefined;
  #closing: Promise<void> | undefined;

  constructor(options: KeyProviderOptions = {}) {
    this.#name = options.name;
    this.#audit = options.audit ?? new AuditBus();
  }

  /** The provider's name in the configuration, or its type. */
  get name(): string {
    return this.#name ?? this.type;
  }

  /** The audit bus this provider reports to. */
  get audit(): AuditBus {
    return this.#audit;
  }

  /** Whether `close()` has been called. */
  get closed(): boolean {
    return this.#closing !== undefined;
  }

  // ---- hooks -------------------------------------------------------------------------------------

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
  protected onGetPublicKey?(key: KeyFacts): Promise<Uint8Array>;
  protected onSign?(key: KeyFacts, input: SignInput): Promise<Uint8Array>;
  protected onVerify?(key: KeyFacts, input: SignInput & { readonly signature: Uint8Array }): Promise<boolean>;
  protected onEncrypt?(key: KeyFacts, input: CipherInput): Promise<Uint8Array>;
  /** Ciphertext that does not authenticate (tampered, wrong context, wrong key): INVALID_CIPHERTEXT. */
  protected onDecrypt?(key: KeyFacts, input: CipherInput): Promise<Uint8Array>;
  protected onGenerateMac?(
    key: KeyFacts,
    input: { algorithm: MacAlgorithm; message: Uint8Array },
  ): Promise<Uint8Array>;
  protected onVerifyMac?(
    key: KeyFacts,
    input: { algorithm: MacAlgorithm; message: Uint8Array; mac: Uint8Array },
  ): Promise<boolean>;
  /** Raw ECDH shared secret (the x coordinate, field-size bytes) with a peer key on the key's curve. */
  protected onDeriveSharedSecret?(key: KeyFacts, peer: ParsedPublicKey): Promise<Uint8Array>;
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

  // ---- contract ----------------------------------------------------------------------------------

  /** The capability manifest: key specs, algorithms, operations this backend supports. */
  capabilities(): Promise<Capabilities> {
    this.#capabilities ??= Promise.resolve()
      .then(() => this.onCapabilities())
      .catch((error: unknown) => {
        this.#capabilities = undefined;
        throw this.#normalise(error, {});
      });
    return this.#capabilities;
  }

  /**
   * Describes a key: spec, usage, state, algorithms, dates. Never key material.
   *
   * @throws KEY_NOT_FOUND, UNAVAILABLE
   */
  describeKey(ref: string, call: CallContext = {}): Promise<KeyDescription> {
    return this.#run('describeKey', call, { ref }, async () => {
      const description = await this.onDescribeKey(assertRef(ref));
      this.#rememberFacts(ref, description);
      return description;
    });
  }

  /** Lists keys, a page at a time. */
  listKeys(options: { limit?: number; nextToken?: string } = {}, call: CallContext = {}): Promise<KeyList> {
    return this.#run('listKeys', call, {}, async () => {
      await this.#requireOperation('listKeys');
      const limit = options.limit ?? 100;
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
        throw new KeyswitchError('INVALID_INPUT', `limit must be an integer from 1 to 1000, got ${limit}`);
      }
      return this.onListKeys!(
        options.nextToken === undefined ? { limit } : { limit, nextToken: options.nextToken },
      );
    });
  }

  /**
   * Creates a key. Private and secret keys are created non-extractable.
   *
   * @throws INVALID_INPUT for a spec and usage that do not go together; UNSUPPORTED_ALGORITHM when the
   * backend cannot create such keys.
   */
  createKey(request: CreateKeyRequest, call: CallContext = {}): Promise<KeyDescription> {
    return this.#run('createKey', call, {}, async () => {
      if (!isKeySpec(request?.spec)) {
        throw new KeyswitchError('INVALID_INPUT', `unknown key spec ${JSON.stringify(request?.spec)}`);
      }
      if (!isKeyUsage(request.usage)) {
        throw new KeyswitchError('INVALID_INPUT', `unknown key usage ${JSON.stringify(request.usage)}`);
      }
      if (!keySpecInfo(request.spec).usages.includes(request.usage)) {
        throw new KeyswitchError(
          'INVALID_INPUT',
          `a ${request.spec} key cannot have usage ${request.usage}; allowed: ${keySpecInfo(request.spec).usages.join(', ')}`,
        );
      }
      assertLabel(request.label);
      assertDescriptionAndTags(request);
      const capabilities = await this.capabilities();
      if (!capabilities.operations.createKey || !this.onCreateKey) throw unsupported('key creation');
      const support = capabilities.keySpecs[request.spec];
      if (!support?.create || !support.usages.includes(request.usage)) {
        throw new KeyswitchError(
          'UNSUPPORTED_ALGORITHM',
          `this backend cannot create ${request.spec} keys for ${request.usage}`,
        );
      }
      const description = await this.onCreateKey(request);
      this.#rememberFacts(description.ref, description);
      return description;
    });
  }

  /**
   * Imports known key material: a PEM, PKCS#8 or PKCS#12 private key, raw secret bytes, or (where the
   * manifest's `importKinds` says so) a public key alone. The core reads and checks the material once,
   * the same way for every backend, then hands the backend a node:crypto key. Audited as `importKey`.
   *
   * @throws INVALID_INPUT for a malformed request or key, a spec and usage that do not go together, a
   * wrong PKCS#12 password; KEY_EXISTS for a label in use; UNSUPPORTED_OPERATION when the backend cannot
   * import (or not this kind of key); UNSUPPORTED_ALGORITHM when it cannot hold the key's spec
   *
   * @example
   * ```ts
   * await provider.importKey({ label: 'acs-signing', usage: 'SIGN_VERIFY', pem: privateKeyPem });
   * await provider.importKey({ label: 'pan-hmac', usage: 'GENERATE_VERIFY_MAC', spec: 'HMAC_256', raw: keyBytes });
   * ```
   */
  importKey(request: ImportKeyRequest, call: CallContext = {}): Promise<KeyDescription> {
    return this.#run('importKey', call, {}, async () => {
      if (!isKeyUsage(request.usage)) {
        throw new KeyswitchError('INVALID_INPUT', `unknown key usage ${JSON.stringify(request.usage)}`);
      }
      assertLabel(request.label);
      assertDescriptionAndTags(request);
      const capabilities = await this.capabilities();
      if (!capabilities.operations.importKey || !this.onImportKey) throw unsupported('key import');
      const { kind, spec, key } = await readImportRequest(request);
      const kinds = capabilities.importKinds ?? ['private', 'secret'];
      if (!kinds.includes(kind)) throw unsupported(`importing ${kind} keys`);
      if (!keySpecInfo(spec).usages.includes(request.usage)) {
        throw new KeyswitchError(
          'INVALID_INPUT',
          `a ${spec} key cannot have usage ${request.usage}; allowed: ${keySpecInfo(spec).usages.join(', ')}`,
        );
      }
      if (kind === 'public' && request.usage === 'KEY_AGREEMENT') {
        throw new KeyswitchError('INVALID_INPUT', 'a public key alone cannot be used for key agreement');
      }
      if (!capabilities.keySpecs[spec]?.usages.includes(request.usage)) {
        throw new KeyswitchError(
          'UNSUPPORTED_ALGORITHM',
          `this backend cannot hold ${spec} keys for ${request.usage}`,
        );
      }
      const description = await this.onImportKey({
        kind,
        spec,
        usage: request.usage,
        key,
        ...(request.label === undefined ? {} : { label: request.label }),
        ...(request.description === undefined ? {} : { description: request.description }),
        ...(request.tags === undefined ? {} : { tags: request.tags }),
      });
      this.#rememberFacts(description.ref, description);
      return description;
    });
  }

  /**
   * A well-formed reference that names no key on this backend, now or later (it carries a random part):
   * what the conformance suite and `keyswitch conformance` check KEY_NOT_FOUND with.
   *
   * @throws UNSUPPORTED_OPERATION when the backend cannot make one
   *
   * @example
   * ```ts
   * await provider.describeKey(provider.nonexistentKeyRef()); // rejects with KEY_NOT_FOUND
   * ```
   */
  nonexistentKeyRef(): string {
    if (!this.onNonexistentKeyRef) {
      throw new KeyswitchError('UNSUPPORTED_OPERATION', 'this backend cannot name a nonexistent key', {
        provider: this.name,
      });
    }
    return this.onNonexistentKeyRef();
  }

  /** Enables a disabled key. */
  enableKey(ref: string, call: CallContext = {}): Promise<void> {
    return this.#run('enableKey', call, { ref }, async () => {
      await this.#requireOperation('enableKey');
      await this.onEnableKey!(await this.#factsFor(ref));
    });
  }

  /** Disables a key: every operation on it then fails with KEY_DISABLED until it is enabled. */
  disableKey(ref: string, call: CallContext = {}): Promise<void> {
    return this.#run('disableKey', call, { ref }, async () => {
      await this.#requireOperation('disableKey');
      await this.onDisableKey!(await this.#factsFor(ref));
    });
  }

  /**
   * Schedules a key for deletion after a waiting period; it refuses operations meanwhile (KEY_DISABLED).
   *
   * @returns the deletion date
   */
  scheduleKeyDeletion(
    ref: string,
    options: { pendingWindowDays?: number } = {},
    call: CallContext = {},
  ): Promise<Date> {
    return this.#run('scheduleKeyDeletion', call, { ref }, async () => {
      await this.#requireOperation('scheduleKeyDeletion');
      const window = (await this.capabilities()).deletionWindowDays;
      const days = options.pendingWindowDays ?? window.max;
      if (!Number.isInteger(days) || days < window.min || days > window.max) {
        throw new KeyswitchError(
          'INVALID_INPUT',
          `pendingWindowDays must be an integer from ${window.min} to ${window.max}, got ${days}`,
        );
      }
      return this.onScheduleKeyDeletion!(await this.#factsFor(ref), days);
    });
  }

  /**
   * Cancels a scheduled deletion. The key comes back DISABLED (as in AWS KMS): enable it to use it.
   *
   * @throws INVALID_INPUT when the key is not pending deletion; UNSUPPORTED_ALGORITHM when the backend cannot
   */
  cancelKeyDeletion(ref: string, call: CallContext = {}): Promise<void> {
    return this.#run('cancelKeyDeletion', call, { ref }, async () => {
      await this.#requireOperation('cancelKeyDeletion');
      await this.onCancelKeyDeletion!(await this.#factsFor(ref));
    });
  }

  /**
   * The public key of an asymmetric key. Backends may cache it (it never changes), so it may still be
   * returned while the key is disabled.
   *
   * @throws USAGE_MISMATCH for symmetric and HMAC keys
   */
  getPublicKey(ref: string, call: CallContext = {}): Promise<PublicKey> {
    return this.#run('getPublicKey', call, { ref }, async () => {
      const key = await this.#factsFor(ref);
      const family = keySpecInfo(key.spec).family;
      if (family !== 'RSA' && family !== 'EC') {
        throw new KeyswitchError('USAGE_MISMATCH', `a ${key.spec} key has no public key`);
      }
      if (!this.onGetPublicKey) throw unsupported('public key export');
      return publicKeyFromSpki(await this.onGetPublicKey(key));
    });
  }

  /**
   * Signs a message, or a precomputed digest with `messageType: 'DIGEST'`. RSA-PSS uses MGF1 with the
   * same hash and a salt as long as the digest. ECDSA signatures are DER unless `signatureFormat` says P1363.
   *
   * @throws INVALID_INPUT (a digest of the wrong length), USAGE_MISMATCH, UNSUPPORTED_ALGORITHM,
   * KEY_NOT_FOUND, KEY_DISABLED
   */
  sign(request: SignRequest, call: CallContext = {}): Promise<Uint8Array> {
    return this.#run('sign', call, request, async () => {
      const { key, input, traits } = await this.#signingInput(request);
      if (!this.onSign) throw unsupported('signing');
      const signature = await this.onSign(key, input);
      return signatureFromBackend(signature, key.spec, input.algorithm, request.signatureFormat, traits);
    });
  }

  /**
   * Verifies a signature. A signature that does not verify, or is malformed, gives `false`, not an error;
   * only an empty signature is INVALID_INPUT (as in AWS KMS).
   *
   * @throws INVALID_INPUT for an empty signature, and the codes of {@link KeyProvider.sign}
   */
  verify(request: VerifyRequest, call: CallContext = {}): Promise<boolean> {
    return this.#run('verify', call, request, async () => {
      const { key, input, traits } = await this.#signingInput(request);
      const given = assertBytes(request.signature, 'signature', { min: 1 });
      if (!this.onVerify) throw unsupported('verification');
      const signature = signatureForBackend(
        given,
        key.spec,
        input.algorithm,
        request.signatureFormat,
        traits,
      );
      return this.onVerify(key, { ...input, signature });
    });
  }

  /**
   * Encrypts. SYMMETRIC_DEFAULT binds the encryption context; RSA-OAEP takes none.
   *
   * @throws INVALID_INPUT (empty or oversize plaintext, a context with RSA), USAGE_MISMATCH,
   * UNSUPPORTED_ALGORITHM, KEY_NOT_FOUND, KEY_DISABLED
   */
  encrypt(request: EncryptRequest, call: CallContext = {}): Promise<Uint8Array> {
    return this.#run('encrypt', call, request, async () => {
      const { key, algorithm, context } = await this.#cipherSetup(request);
      const max =
        algorithm === 'SYMMETRIC_DEFAULT'
          ? LIMITS.maxSymmetricPlaintextBytes
          : keySpecInfo(key.spec).bits / 8 - 2 * algorithmInfo(algorithm).digestBytes! - 2;
      const data = assertBytes(request.plaintext, 'plaintext', { min: 1, max });
      if (!this.onEncrypt) throw unsupported('encryption');
      return this.onEncrypt(key, { algorithm, data, context });
    });
  }

  /**
   * Decrypts. Ciphertext that was tampered with, or a different encryption context, gives INVALID_CIPHERTEXT.
   *
   * @throws INVALID_CIPHERTEXT, INVALID_INPUT, USAGE_MISMATCH, UNSUPPORTED_ALGORITHM, KEY_NOT_FOUND, KEY_DISABLED
   */
  decrypt(request: DecryptRequest, call: CallContext = {}): Promise<Uint8Array> {
    return this.#run('decrypt', call, request, async () => {
      const { key, algorithm, context } = await this.#cipherSetup(request);
      const data = assertBytes(request.ciphertext, 'ciphertext', { min: 1, max: LIMITS.maxCiphertextBytes });
      if (!this.onDecrypt) throw unsupported('decryption');
      return this.onDecrypt(key, { algorithm, data, context });
    });
  }

  /** Computes an HMAC over a message of 1 to 4,096 bytes. */
  generateMac(request: MacRequest, call: CallContext = {}): Promise<Uint8Array> {
    return this.#run('generateMac', call, request, async () => {
      const { key, algorithm, message } = await this.#macSetup(request);
      if (!this.onGenerateMac) throw unsupported('MAC generation');
      return this.onGenerateMac(key, { algorithm, message });
    });
  }

  /** Checks an HMAC; a wrong tag gives `false`. */
  verifyMac(request: VerifyMacRequest, call: CallContext = {}): Promise<boolean> {
    return this.#run('verifyMac', call, request, async () => {
      const { key, algorithm, message } = await this.#macSetup(request);
      const mac = assertBytes(request.mac, 'mac');
      if (!this.onVerifyMac) throw unsupported('MAC verification');
      return this.onVerifyMac(key, { algorithm, message, mac });
    });
  }

  /**
   * Derives the raw ECDH shared secret (the x coordinate of the shared point) with a peer's public key.
   *
   * @throws INVALID_INPUT when the peer key is malformed or on another curve
   */
  deriveSharedSecret(request: DeriveSharedSecretRequest, call: CallContext = {}): Promise<Uint8Array> {
    return this.#run('deriveSharedSecret', call, request, async () => {
      const key = await this.#keyForAlgorithm(request.ref, request.algorithm, 'KEY_AGREEMENT');
      const peer = parseSpki(assertBytes(request.publicKey, 'peer public key', { min: 1 }));
      if (peer.keySpec !== key.spec) {
        throw new KeyswitchError(
          'INVALID_INPUT',
          `the peer public key is ${peer.keySpec}; the key is ${key.spec}`,
        );
      }
      if (!this.onDeriveSharedSecret) throw unsupported('key agreement');
      return this.onDeriveSharedSecret(key, peer);
    });
  }

  /**
   * Generates a data key under a SYMMETRIC_DEFAULT key: the plaintext key (unless `withPlaintext` is false)
   * and the key wrapped by the backend key with the encryption context bound.
   */
  generateDataKey(request: GenerateDataKeyRequest, call: CallContext = {}): Promise<DataKey> {
    const target =
      typeof request === 'object' && request !== null
        ? { ref: request.ref, algorithm: 'SYMMETRIC_DEFAULT' as const }
        : undefined;
    return this.#run('generateDataKey', call, target, async () => {
      await this.#requireOperation('generateDataKey');
      const key = await this.#keyForAlgorithm(request.ref, 'SYMMETRIC_DEFAULT', 'ENCRYPT_DECRYPT');
      const dataKeySpec = request.dataKeySpec ?? 'AES_256';
      if (dataKeySpec !== 'AES_256' && dataKeySpec !== 'AES_128') {
        throw new KeyswitchError(
          'INVALID_INPUT',
          `dataKeySpec must be AES_256 or AES_128, got ${JSON.stringify(dataKeySpec)}`,
        );
      }
      const context = assertContext(request.context);
      const withPlaintext = request.withPlaintext !== false;
      let generated: { plaintext?: Uint8Array; ciphertextBlob: Uint8Array };
      if (this.onGenerateDataKey) {
        generated = await this.onGenerateDataKey(key, { dataKeySpec, context, withPlaintext });
      } else if (this.onGenerateRandom && this.onEncrypt) {
        const plaintext = await this.onGenerateRandom(dataKeySpec === 'AES_256' ? 32 : 16);
        const ciphertextBlob = await this.onEncrypt(key, {
          algorithm: 'SYMMETRIC_DEFAULT',
          data: plaintext,
          context,
        });
        generated = { plaintext, ciphertextBlob };
      } else {
        throw unsupported('data keys');
      }
      if (!withPlaintext) {
        generated.plaintext?.fill(0);
        return { ciphertextBlob: generated.ciphertextBlob, ref: key.ref };
      }
      if (generated.plaintext === undefined)
        throw new KeyswitchError('INTERNAL', 'the backend returned no data key');
      return { ciphertextBlob: generated.ciphertextBlob, plaintext: generated.plaintext, ref: key.ref };
    });
  }

  /** Random bytes from the backend's generator: 1 to 1,024 bytes. */
  generateRandom(length: number, call: CallContext = {}): Promise<Uint8Array> {
    return this.#run('generateRandom', call, {}, async () => {
      if (!Number.isInteger(length) || length < 1 || length > LIMITS.maxRandomBytes) {
        throw new KeyswitchError(
          'INVALID_INPUT',
          `length must be an integer from 1 to ${LIMITS.maxRandomBytes}, got ${length}`,
        );
      }
      await this.#requireOperation('generateRandom');
      return this.onGenerateRandom!(length);
    });
  }

  /**
   * Stops accepting work, waits for operations in flight, then releases the backend. Idempotent.
   * Calls made after `close()` fail with CLOSED.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      if (this.#inFlight > 0) {
        await new Promise<void>((resolve) => {
          this.#drained = resolve;
        });
      }
      await this.onClose?.();
    })();
    return this.#closing;
  }

  /**
   * Runs one of the backend's own operations (an alias change, a rotation setting, a re-encrypt) the way
   * the contract's own methods run: refused unless the manifest declares it (UNSUPPORTED_OPERATION),
   * refused after close, tracked for draining, errors wrapped with the provider and key, and one audit
   * event under the extension's name.
   *
   * @example
   * ```ts
   * updateAlias(alias: string, ref: string, call: CallContext = {}): Promise<void> {
   *   return this.runExtension('updateAlias', { ref }, () => this.#send('UpdateAlias', { alias, ref }), call);
   * }
   * ```
   */
  protected runExtension<T>(
    name: ExtensionName,
    target: { ref?: string | undefined; algorithm?: Algorithm | undefined },
    body: () => Promise<T>,
    call: CallContext = {},
  ): Promise<T> {
    const request = {
      ...(target.ref === undefined ? {} : { ref: target.ref }),
      ...(target.algorithm === undefined ? {} : { algorithm: target.algorithm }),
    };
    return this.#run(name, call, request, async () => {
      const capabilities = await this.capabilities();
      if (capabilities.extensions?.[name] === undefined) throw unsupported(name);
      return body();
    });
  }

  // ---- internals ---------------------------------------------------------------------------------

  async #run<T>(
    operation: AuditOperation,
    call: CallContext,
    request: { ref?: string; algorithm?: Algorithm } | undefined,
    body: () => Promise<T>,
  ): Promise<T> {
    const given = typeof request === 'object' && request !== null ? request : {};
    // A reference that is not a string is the caller's mistake, reported as INVALID_INPUT by the body;
    // it must not reach error messages or audit events.
    const target: { ref?: string; algorithm?: Algorithm } =
      typeof given.ref === 'string' || given.ref === undefined ? given : withoutRef(given);
    const started = Date.now();
    const startedAt = performance.now();
    let facts: KeyFacts | undefined;
    this.#inFlight += 1;
    try {
      if (this.#closing) throw new KeyswitchError('CLOSED', 'the provider is closed');
      this.#audit.admit();
      if (given !== request) throw new KeyswitchError('INVALID_INPUT', `${operation} needs a request object`);
      const result = await body();
      // The key's version is read for the audit event only: no await when nothing listens.
      if (target.ref !== undefined && this.#audit.activeFor(operation)) {
        facts = await this.#facts.get(target.ref)?.catch(() => undefined);
      }
      // A created or imported key is audited under the reference it was given.
      const audited =
        (operation === 'createKey' || operation === 'importKey') && isDescription(result)
          ? { ...target, ref: result.ref }
          : target;
      this.#emit(operation, call, audited, facts, started, startedAt, { outcome: 'success', result });
      return result;
    } catch (error) {
      const normalised = this.#normalise(error, { keyName: call.keyName, keyRef: target.ref });
      if (normalised.code === 'KEY_NOT_FOUND' && target.ref !== undefined) this.#forget(target.ref);
      this.#emit(operation, call, target, undefined, started, startedAt, {
        outcome: 'failure',
        error: normalised,
      });
      throw normalised;
    } finally {
      this.#inFlight -= 1;
      if (this.#inFlight === 0) this.#drained?.();
    }
  }

  #emit(
    operation: AuditOperation,
    call: CallContext,
    target: { ref?: string; algorithm?: Algorithm },
    facts: KeyFacts | undefined,
    started: number,
    startedAt: number,
    outcome: { outcome: 'success'; result: unknown } | { outcome: 'failure'; error: KeyswitchError },
  ): void {
    if (!this.#audit.activeFor(operation)) return;
    const algorithm = isAlgorithm(target.algorithm) ? target.algorithm : undefined;
    this.#audit.emit({
      time: new Date(started).toISOString(),
      operation,
      ...(call.keyName === undefined ? {} : { keyName: call.keyName }),
      provider: this.name,
      providerType: this.type,
      ...(typeof target.ref === 'string' ? { keyRef: redactReference(target.ref) } : {}),
      ...(facts?.version === undefined ? {} : { keyVersion: facts.version }),
      ...(algorithm === undefined ? {} : { algorithm }),
      outcome: outcome.outcome,
      ...(outcome.outcome === 'failure' ? { errorCode: outcome.error.code } : {}),
      ...(outcome.outcome === 'success' && (operation === 'verify' || operation === 'verifyMac')
        ? { valid: outcome.result === true }
        : {}),
      durationMs: Math.round((performance.now() - startedAt) * 1000) / 1000,
    });
  }

  #normalise(
    error: unknown,
    context: { keyName?: string | undefined; keyRef?: string | undefined },
  ): KeyswitchError {
    if (isKeyswitchError(error)) {
      return error.withContext({ provider: this.name, keyName: context.keyName, keyRef: context.keyRef });
    }
    return new KeyswitchError(
      'INTERNAL',
      `unexpected backend failure: ${error instanceof Error ? error.name : describeType(error)}`,
      {
        provider: this.name,
        keyName: context.keyName,
        keyRef: context.keyRef,
        cause: error,
      },
    );
  }

  #rememberFacts(ref: string, description: KeyDescription): void {
    const facts: KeyFacts = {
      ref,
      spec: description.spec,
      usage: description.usage,
      usages: description.usages ?? [description.usage],
      ...(description.version === undefined ? {} : { version: description.version }),
    };
    this.#facts.set(ref, Promise.resolve(facts));
  }

  #forget(ref: string): void {
    this.#facts.delete(ref);
  }

  /** The immutable facts of a key, from the cache or one describe. */
  #factsFor(ref: string): Promise<KeyFacts> {
    assertRef(ref);
    let facts = this.#facts.get(ref);
    if (!facts) {
      facts = this.onDescribeKey(ref).then((description) => ({
        ref,
        spec: description.spec,
        usage: description.usage,
        usages: description.usages ?? [description.usage],
        ...(description.version === undefined ? {} : { version: description.version }),
      }));
      this.#facts.set(ref, facts);
      facts.catch(() => this.#facts.delete(ref));
    }
    return facts;
  }

  async #requireOperation(operation: keyof Capabilities['operations']): Promise<void> {
    const capabilities = await this.capabilities();
    const hook = {
      createKey: this.onCreateKey,
      enableKey: this.onEnableKey,
      disableKey: this.onDisableKey,
      scheduleKeyDeletion: this.onScheduleKeyDeletion,
      cancelKeyDeletion: this.onCancelKeyDeletion,
      listKeys: this.onListKeys,
      generateDataKey: this.onGenerateDataKey ?? (this.onGenerateRandom && this.onEncrypt),
      generateRandom: this.onGenerateRandom,
      importKey: this.onImportKey,
    }[operation];
    if (!capabilities.operations[operation] || !hook) throw unsupported(operation);
  }

  /** Checks the algorithm is known, supported by the backend, and allowed for the key; returns the key. */
  async #keyForAlgorithm(ref: string, algorithm: unknown, usage: KeyUsage): Promise<KeyFacts> {
    if (!isAlgorithm(algorithm) || algorithmInfo(algorithm).usage !== usage) {
      throw new KeyswitchError('INVALID_INPUT', `${JSON.stringify(algorithm)} is not a ${usage} algorithm`);
    }
    const capabilities = await this.capabilities();
    if (!capabilities.algorithms.includes(algorithm)) {
      throw new KeyswitchError('UNSUPPORTED_ALGORITHM', `this backend does not support ${algorithm}`);
    }
    const key = await this.#factsFor(ref);
    if (!key.usages.includes(usage)) {
      throw new KeyswitchError(
        'USAGE_MISMATCH',
        `the key's usage is ${key.usages.join(' and ')}; ${algorithm} needs ${usage}`,
      );
    }
    if (!algorithmsFor(key.spec, usage).includes(algorithm)) {
      throw new KeyswitchError(
        'USAGE_MISMATCH',
        `${algorithm} cannot be used with a ${key.spec} key; allowed: ${algorithmsFor(key.spec, usage).join(', ')}`,
      );
    }
    return key;
  }

  async #signingInput(
    request: SignRequest,
  ): Promise<{ key: KeyFacts; input: SignInput; traits: SigningTraits }> {
    const messageType = request.messageType ?? 'RAW';
    if (messageType !== 'RAW' && messageType !== 'DIGEST') {
      throw new KeyswitchError(
        'INVALID_INPUT',
        `messageType must be RAW or DIGEST, got ${JSON.stringify(messageType)}`,
      );
    }
    if (
      request.signatureFormat !== undefined &&
      request.signatureFormat !== 'DER' &&
      request.signatureFormat !== 'P1363'
    ) {
      throw new KeyswitchError(
        'INVALID_INPUT',
        `signatureFormat must be DER or P1363, got ${JSON.stringify(request.signatureFormat)}`,
      );
    }
    const message = assertBytes(request.message, messageType === 'RAW' ? 'message' : 'digest');
    const key = await this.#keyForAlgorithm(request.ref, request.algorithm, 'SIGN_VERIFY');
    const traits = (await this.capabilities()).signing ?? DEFAULT_SIGNING_TRAITS;
    const algorithm = request.algorithm;
    const info = algorithmInfo(algorithm);
    if (messageType === 'DIGEST') {
      if (message.byteLength !== info.digestBytes) {
        throw new KeyswitchError(
          'INVALID_INPUT',
          `a ${algorithm} digest must be ${info.digestBytes} bytes, got ${message.byteLength}`,
        );
      }
      return { key, input: { algorithm, message, messageType }, traits };
    }
    const { min, max } = traits.rawMessageBytes;
    if (message.byteLength >= min && message.byteLength <= max) {
      return { key, input: { algorithm, message, messageType }, traits };
    }
    // The backend cannot take this message whole: sign its digest, which is the same signature.
    const digest = new Uint8Array(createHash(info.hash!).update(message).digest());
    return { key, input: { algorithm, message: digest, messageType: 'DIGEST' }, traits };
  }

  async #cipherSetup(request: EncryptRequest | DecryptRequest) {
    const key = await this.#keyForAlgorithm(request.ref, request.algorithm, 'ENCRYPT_DECRYPT');
    const algorithm = request.algorithm;
    const context = assertContext(request.context);
    if (context !== undefined && algorithm !== 'SYMMETRIC_DEFAULT' && Object.keys(context).length > 0) {
      throw new KeyswitchError(
        'INVALID_INPUT',
        `an encryption context can only be used with SYMMETRIC_DEFAULT, not ${algorithm}`,
      );
    }
    return { key, algorithm, context: algorithm === 'SYMMETRIC_DEFAULT' ? context : undefined };
  }

  async #macSetup(request: MacRequest) {
    const message = assertBytes(request.message, 'message', { min: 1, max: LIMITS.maxMacMessageBytes });
    const key = await this.#keyForAlgorithm(request.ref, request.algorithm, 'GENERATE_VERIFY_MAC');
    return { key, algorithm: request.algorithm, message };
  }
}

function assertDescriptionAndTags(request: CreateKeyRequest | ImportKeyRequest): void {
  if (
    request.description !== undefined &&
    (typeof request.description !== 'string' || request.description.length > 8192)
  ) {
    throw new KeyswitchError('INVALID_INPUT', 'description must be a string of at most 8,192 characters');
  }
  if (request.tags === undefined) return;
  if (typeof request.tags !== 'object' || request.tags === null || Array.isArray(request.tags)) {
    throw new KeyswitchError(
      'INVALID_INPUT',
      `tags must be an object of strings, got ${describeType(request.tags)}`,
    );
  }
  const entries = Object.entries(request.tags);
  if (entries.length > 50)
    throw new KeyswitchError('INVALID_INPUT', `at most 50 tags, got ${entries.length}`);
  for (const [key, value] of entries) {
    if (key.length < 1 || key.length > 128) {
      throw new KeyswitchError('INVALID_INPUT', 'tag keys must be 1 to 128 characters');
    }
    if (typeof value !== 'string' || value.length > 256) {
      throw new KeyswitchError(
        'INVALID_INPUT',
        `tag "${key}" must have a string value of at most 256 characters`,
      );
    }
  }
}

function withoutRef(request: { ref?: unknown; algorithm?: Algorithm }): { algorithm?: Algorithm } {
  return request.algorithm === undefined ? {} : { algorithm: request.algorithm };
}

function isDescription(value: unknown): value is KeyDescription {
  return typeof value === 'object' && value !== null && typeof (value as { ref?: unknown }).ref === 'string';
}

function unsupported(what: string): KeyswitchError {
  return new KeyswitchError('UNSUPPORTED_OPERATION', `this backend does not support ${what}`);
}

function assertLabel(label: unknown): void {
  if (label !== undefined && (typeof label !== 'string' || !/^[\w./:-]{1,250}$/.test(label))) {
    throw new KeyswitchError(
      'INVALID_INPUT',
      'label must be 1 to 250 characters of letters, digits and ._/:-',
    );
  }
}
