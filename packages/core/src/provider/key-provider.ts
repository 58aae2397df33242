import { AuditBus } from '../audit/audit-bus.js';
import { type PublicKey, publicKeyFromSpki } from '../encoding/public-key.js';
import { parseSpki } from '../encoding/spki.js';
import { withArticle } from '../english/with-article.js';
import { KeyswitchError } from '../errors.js';
import { assertBytes, assertContext, assertIntegerIn, assertRef } from '../lib/checks.js';
import type { Algorithm } from '../vocabulary/algorithms.js';
import { type KeyUsage, keySpecInfo } from '../vocabulary/key-specs.js';
import {
  type Capabilities,
  type CreateKeyRequest,
  type DataKey,
  DEFAULT_SIGNING_TRAITS,
  type DecryptRequest,
  type DeriveSharedSecretRequest,
  type EncryptRequest,
  type ExtensionInfo,
  type ExtensionName,
  type GenerateDataKeyRequest,
  type ImportKeyRequest,
  type KeyDescription,
  type KeyList,
  LIMITS,
  type MacRequest,
  type SigningTraits,
  type SignRequest,
  type VerifyMacRequest,
  type VerifyRequest,
} from './contract.js';
import type { CallContext, KeyFacts, KeyProviderOptions, SignInput } from './hook-inputs.js';
import { importInputFor } from './import/import-input.js';
import { KeyProviderHooks } from './key-provider-hooks.js';
import { assertAlgorithmOfUsage, assertBackendAlgorithm, assertKeyAllows } from './lib/algorithm-checks.js';
import { cipherContext, maxPlaintextBytes } from './lib/cipher-checks.js';
import { dataKeyResult, generateDataKeyWith, readDataKeySpec } from './lib/data-key.js';
import { KeyFactsCache } from './lib/key-facts-cache.js';
import {
  assertBackendCreates,
  assertCreateKeyRequest,
  assertImportKeyRequest,
} from './lib/key-request-checks.js';
import { OperationRunner } from './lib/operation-runner.js';
import { fitSigningInput, readSigningRequest } from './lib/signing-input.js';
import { unsupported } from './lib/unsupported.js';
import { signatureForBackend, signatureFromBackend } from './signature-rules.js';

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
export abstract class KeyProvider extends KeyProviderHooks {
  /** The backend type, as written in configuration (`soft-hsm`, `pkcs11`, `aws-kms`). */
  abstract readonly type: string;
  readonly #name: string | undefined;
  readonly #audit: AuditBus;
  readonly #facts = new KeyFactsCache();
  readonly #runner: OperationRunner;
  #capabilities: Promise<Capabilities> | undefined;

  constructor(options: KeyProviderOptions = {}) {
    super();
    this.#name = options.name;
    this.#audit = options.audit ?? new AuditBus();
    this.#runner = new OperationRunner(this, this.#audit, this.#facts);
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
    return this.#runner.closed;
  }

  // ---- contract ----------------------------------------------------------------------------------

  /** The capability manifest: key specs, algorithms, operations this backend supports. */
  capabilities(): Promise<Capabilities> {
    this.#capabilities ??= Promise.resolve()
      .then(() => this.onCapabilities())
      .catch((error: unknown) => {
        this.#capabilities = undefined;
        throw this.#runner.normalise(error, {});
      });
    return this.#capabilities;
  }

  /**
   * Describes a key: spec, usage, state, algorithms, dates. Never key material.
   *
   * @throws KEY_NOT_FOUND, UNAVAILABLE
   */
  describeKey(ref: string, call: CallContext = {}): Promise<KeyDescription> {
    return this.#runner.run('describeKey', call, { ref }, async () => {
      const description = await this.onDescribeKey(assertRef(ref));
      this.#facts.remember(ref, description);
      return description;
    });
  }

  /** Lists keys, a page at a time. */
  listKeys(options: { limit?: number; nextToken?: string } = {}, call: CallContext = {}): Promise<KeyList> {
    return this.#runner.run('listKeys', call, {}, async () => {
      await this.#requireOperation('listKeys');
      const limit = options.limit ?? 100;
      assertIntegerIn(limit, 'limit', 1, 1000);
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
    return this.#runner.run('createKey', call, {}, async () => {
      assertCreateKeyRequest(request);
      const capabilities = await this.capabilities();
      if (!capabilities.operations.createKey || !this.onCreateKey) throw unsupported('key creation');
      assertBackendCreates(capabilities, request.spec, request.usage);
      const description = await this.onCreateKey(request);
      this.#facts.remember(description.ref, description);
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
    return this.#runner.run('importKey', call, {}, async () => {
      assertImportKeyRequest(request);
      const capabilities = await this.capabilities();
      if (!capabilities.operations.importKey || !this.onImportKey) throw unsupported('key import');
      const description = await this.onImportKey(await importInputFor(request, capabilities));
      this.#facts.remember(description.ref, description);
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
    return this.#runner.run('enableKey', call, { ref }, async () => {
      await this.#requireOperation('enableKey');
      await this.onEnableKey!(await this.#factsFor(ref));
    });
  }

  /** Disables a key: every operation on it then fails with KEY_DISABLED until it is enabled. */
  disableKey(ref: string, call: CallContext = {}): Promise<void> {
    return this.#runner.run('disableKey', call, { ref }, async () => {
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
    return this.#runner.run('scheduleKeyDeletion', call, { ref }, async () => {
      await this.#requireOperation('scheduleKeyDeletion');
      const window = (await this.capabilities()).deletionWindowDays;
      const days = options.pendingWindowDays ?? window.max;
      assertIntegerIn(days, 'pendingWindowDays', window.min, window.max);
      return this.onScheduleKeyDeletion!(await this.#factsFor(ref), days);
    });
  }

  /**
   * Cancels a scheduled deletion. The key comes back DISABLED (as in AWS KMS): enable it to use it.
   *
   * @throws INVALID_INPUT when the key is not pending deletion; UNSUPPORTED_OPERATION when the backend cannot
   */
  cancelKeyDeletion(ref: string, call: CallContext = {}): Promise<void> {
    return this.#runner.run('cancelKeyDeletion', call, { ref }, async () => {
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
    return this.#runner.run('getPublicKey', call, { ref }, async () => {
      const key = await this.#factsFor(ref);
      const family = keySpecInfo(key.spec).family;
      if (family !== 'RSA' && family !== 'EC') {
        throw new KeyswitchError('USAGE_MISMATCH', `${withArticle(key.spec)} key has no public key`);
      }
      if (!this.onGetPublicKey) throw unsupported('public key export');
      return publicKeyFromSpki(await this.onGetPublicKey(key, call));
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
    return this.#runner.run('sign', call, request, async () => {
      const { key, input, traits } = await this.#signingInput(request);
      if (!this.onSign) throw unsupported('signing');
      const signature = await this.onSign(key, input, call);
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
    return this.#runner.run('verify', call, request, async () => {
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
      return this.onVerify(key, { ...input, signature }, call);
    });
  }

  /**
   * Encrypts. SYMMETRIC_DEFAULT binds the encryption context; RSA-OAEP takes none.
   *
   * @throws INVALID_INPUT (empty or oversize plaintext, a context with RSA), USAGE_MISMATCH,
   * UNSUPPORTED_ALGORITHM, KEY_NOT_FOUND, KEY_DISABLED
   */
  encrypt(request: EncryptRequest, call: CallContext = {}): Promise<Uint8Array> {
    return this.#runner.run('encrypt', call, request, async () => {
      const { key, algorithm, context } = await this.#cipherSetup(request);
      const max = maxPlaintextBytes(key.spec, algorithm);
      const data = assertBytes(request.plaintext, 'plaintext', { min: 1, max });
      if (!this.onEncrypt) throw unsupported('encryption');
      return this.onEncrypt(key, { algorithm, data, context }, call);
    });
  }

  /**
   * Decrypts. Ciphertext that was tampered with, or a different encryption context, gives INVALID_CIPHERTEXT.
   *
   * @throws INVALID_CIPHERTEXT, INVALID_INPUT, USAGE_MISMATCH, UNSUPPORTED_ALGORITHM, KEY_NOT_FOUND, KEY_DISABLED
   */
  decrypt(request: DecryptRequest, call: CallContext = {}): Promise<Uint8Array> {
    return this.#runner.run('decrypt', call, request, async () => {
      const { key, algorithm, context } = await this.#cipherSetup(request);
      const data = assertBytes(request.ciphertext, 'ciphertext', { min: 1, max: LIMITS.maxCiphertextBytes });
      if (!this.onDecrypt) throw unsupported('decryption');
      return this.onDecrypt(key, { algorithm, data, context }, call);
    });
  }

  /** Computes an HMAC over a message of 1 to 4,096 bytes. */
  generateMac(request: MacRequest, call: CallContext = {}): Promise<Uint8Array> {
    return this.#runner.run('generateMac', call, request, async () => {
      const { key, algorithm, message } = await this.#macSetup(request);
      if (!this.onGenerateMac) throw unsupported('MAC generation');
      return this.onGenerateMac(key, { algorithm, message }, call);
    });
  }

  /** Checks an HMAC; a wrong tag gives `false`. */
  verifyMac(request: VerifyMacRequest, call: CallContext = {}): Promise<boolean> {
    return this.#runner.run('verifyMac', call, request, async () => {
      const { key, algorithm, message } = await this.#macSetup(request);
      const mac = assertBytes(request.mac, 'mac');
      if (!this.onVerifyMac) throw unsupported('MAC verification');
      return this.onVerifyMac(key, { algorithm, message, mac }, call);
    });
  }

  /**
   * Derives the raw ECDH shared secret (the x coordinate of the shared point) with a peer's public key.
   *
   * @throws INVALID_INPUT when the peer key is malformed or on another curve
   */
  deriveSharedSecret(request: DeriveSharedSecretRequest, call: CallContext = {}): Promise<Uint8Array> {
    return this.#runner.run('deriveSharedSecret', call, request, async () => {
      const key = await this.#keyForAlgorithm(request.ref, request.algorithm, 'KEY_AGREEMENT');
      const peer = parseSpki(assertBytes(request.publicKey, 'peer public key', { min: 1 }));
      if (peer.keySpec !== key.spec) {
        throw new KeyswitchError(
          'INVALID_INPUT',
          `the peer public key is ${peer.keySpec}; the key is ${key.spec}`,
        );
      }
      if (!this.onDeriveSharedSecret) throw unsupported('key agreement');
      return this.onDeriveSharedSecret(key, peer, call);
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
    return this.#runner.run('generateDataKey', call, target, async () => {
      await this.#requireOperation('generateDataKey');
      const key = await this.#keyForAlgorithm(request.ref, 'SYMMETRIC_DEFAULT', 'ENCRYPT_DECRYPT');
      const dataKeySpec = readDataKeySpec(request.dataKeySpec);
      const context = assertContext(request.context);
      const withPlaintext = request.withPlaintext !== false;
      const hooks = {
        generateDataKey: this.onGenerateDataKey?.bind(this),
        generateRandom: this.onGenerateRandom?.bind(this),
        encrypt: this.onEncrypt?.bind(this),
      };
      const generated = await generateDataKeyWith(hooks, key, { dataKeySpec, context, withPlaintext });
      return dataKeyResult(generated, withPlaintext, key.ref);
    });
  }

  /** Random bytes from the backend's generator: 1 to 1,024 bytes. */
  generateRandom(length: number, call: CallContext = {}): Promise<Uint8Array> {
    return this.#runner.run('generateRandom', call, {}, async () => {
      assertIntegerIn(length, 'length', 1, LIMITS.maxRandomBytes);
      await this.#requireOperation('generateRandom');
      return this.onGenerateRandom!(length);
    });
  }

  /**
   * Stops accepting work, waits for operations in flight, then releases the backend. Idempotent.
   * Calls made after `close()` fail with CLOSED.
   */
  close(): Promise<void> {
    return this.#runner.close(() => this.onClose?.());
  }

  /**
   * Runs one of the backend's own operations (an alias change, a rotation setting, a re-encrypt) the way
   * the contract's own methods run: refused unless the manifest declares it (UNSUPPORTED_OPERATION),
   * refused after close, tracked for draining, errors wrapped with the provider and key, and one audit
   * event under the extension's name. `body` gets the manifest's declaration: one that changes state is
   * never repeated blindly by the backend's transport (an SDK's retries included).
   *
   * @example
   * ```ts
   * updateAlias(alias: string, ref: string, call: CallContext = {}): Promise<void> {
   *   return this.runExtension('updateAlias', { ref }, (declared) => this.#send('UpdateAlias', { alias, ref }, { once: declared.changesState }), call);
   * }
   * ```
   */
  protected runExtension<T>(
    name: ExtensionName,
    target: { ref?: string | undefined; algorithm?: Algorithm | undefined },
    body: (declared: ExtensionInfo) => Promise<T>,
    call: CallContext = {},
  ): Promise<T> {
    const request = {
      ...(target.ref === undefined ? {} : { ref: target.ref }),
      ...(target.algorithm === undefined ? {} : { algorithm: target.algorithm }),
    };
    return this.#runner.run(name, call, request, async () => {
      const declared = (await this.capabilities()).extensions?.[name];
      if (declared === undefined) throw unsupported(name);
      return body(declared);
    });
  }

  // ---- internals ---------------------------------------------------------------------------------

  /** The immutable facts of a key, from the cache or one describe. */
  #factsFor(ref: string): Promise<KeyFacts> {
    return this.#facts.factsFor(ref, (known) => this.onDescribeKey(known));
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
    assertAlgorithmOfUsage(algorithm, usage);
    assertBackendAlgorithm(algorithm, await this.capabilities());
    const key = await this.#factsFor(ref);
    assertKeyAllows(key, algorithm, usage);
    return key;
  }

  async #signingInput(
    request: SignRequest,
  ): Promise<{ key: KeyFacts; input: SignInput; traits: SigningTraits }> {
    const { messageType, message } = readSigningRequest(request);
    const key = await this.#keyForAlgorithm(request.ref, request.algorithm, 'SIGN_VERIFY');
    const traits = (await this.capabilities()).signing ?? DEFAULT_SIGNING_TRAITS;
    return { key, input: fitSigningInput(request.algorithm, message, messageType, traits), traits };
  }

  async #cipherSetup(request: EncryptRequest | DecryptRequest) {
    const key = await this.#keyForAlgorithm(request.ref, request.algorithm, 'ENCRYPT_DECRYPT');
    const algorithm = request.algorithm;
    return { key, algorithm, context: cipherContext(algorithm, assertContext(request.context)) };
  }

  async #macSetup(request: MacRequest) {
    const message = assertBytes(request.message, 'message', { min: 1, max: LIMITS.maxMacMessageBytes });
    const key = await this.#keyForAlgorithm(request.ref, request.algorithm, 'GENERATE_VERIFY_MAC');
    return { key, algorithm: request.algorithm, message };
  }
}
