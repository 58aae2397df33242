import { randomUUID } from 'node:crypto';
import type { KMSClient } from '@aws-sdk/client-kms';
import {
  type CallContext,
  type Capabilities,
  type CipherInput,
  type CreateKeyRequest,
  type DataKey,
  type DataKeySpec,
  type EncryptionContext,
  type GenerateDataKeyRequest,
  type ImportKeyInput,
  type KeyDescription,
  type KeyFacts,
  type KeyList,
  KeyProvider,
  KeyswitchError,
  type MacAlgorithm,
  type ParsedPublicKey,
  type SignInput,
} from '@keyswitch/core';
import {
  createKmsAlias,
  deleteKmsAlias,
  type KmsAlias,
  listKmsAliases,
  updateKmsAlias,
} from './extras/aliases.js';
import { importKmsKey } from './extras/import-key.js';
import {
  disableRotation,
  enableRotation,
  type KeyRotationStatus,
  rotationStatus,
} from './extras/key-rotation.js';
import { type ReEncryptRequest, type ReEncryptResult, reEncryptInKms } from './extras/re-encrypt.js';
import { KMS_CAPABILITIES } from './lib/capabilities.js';
import { createKmsKey } from './lib/create-key.js';
import { aliasName, keyDescription } from './lib/key-description.js';
import { createKmsClient } from './lib/kms-client.js';
import { kmsMessage } from './lib/kms-message.js';
import { KmsRequests, type Sdk } from './lib/kms-requests.js';
import { listKmsKeys } from './lib/list-keys.js';
import { encryptLocally, verifyLocally } from './lib/local-public-key.js';
import { mapKmsError } from './lib/map-kms-error.js';
import { PublicKeyCache } from './lib/public-key-cache.js';
import { rateClassFor } from './lib/rate-class.js';
import { RateLimiter } from './lib/rate-limiter.js';
import { verifyMacInKms, verifySignatureInKms } from './lib/verify-in-kms.js';
import type { AwsKmsProviderOptions } from './options.js';
import { KMS_DEFAULT_RATE_LIMITS } from './rate-limits.js';

/**
 * The AWS KMS backend: the keyswitch provider contract on `@aws-sdk/client-kms`. Keys are referenced by
 * key id, key ARN, alias name (`alias/acs-signing`) or alias ARN, including another account's ARNs.
 * Messages over 4,096 bytes are hashed here and signed as DIGEST; ECDSA signatures stay DER, as KMS
 * returns them. Connections are kept alive, retries use the SDK's adaptive mode, public keys are cached,
 * and an optional client-side rate limit keeps the application under its KMS quotas.
 *
 * @example
 * ```ts
 * const kms = await AwsKmsProvider.open({ region: 'ap-northeast-1', localVerify: true });
 * const signature = await kms.sign({ ref: 'alias/acs-signing', algorithm: 'ECDSA_SHA_256', message });
 * const valid = await kms.verify({ ref: 'alias/acs-signing', algorithm: 'ECDSA_SHA_256', message, signature });
 * await kms.close();
 * ```
 */
export class AwsKmsProvider extends KeyProvider {
  readonly type = 'aws-kms';
  readonly #client: KMSClient;
  readonly #ownsClient: boolean;
  readonly #requests: KmsRequests;
  readonly #publicKeys: PublicKeyCache;
  readonly #localVerify: boolean;
  readonly #localEncrypt: boolean;

  private constructor(options: AwsKmsProviderOptions, sdk: Sdk, client: KMSClient, ownsClient: boolean) {
    super(options);
    this.#client = client;
    this.#ownsClient = ownsClient;
    const cachePublicKeys = options.cachePublicKeys ?? true;
    this.#localVerify = options.localVerify ?? false;
    this.#localEncrypt = options.localEncrypt ?? false;
    const limits = options.rateLimits === true ? KMS_DEFAULT_RATE_LIMITS : options.rateLimits || undefined;
    this.#requests = new KmsRequests(sdk, client, limits ? new RateLimiter(limits) : undefined);
    this.#publicKeys = new PublicKeyCache(this.#requests, cachePublicKeys);
    if ((this.#localVerify || this.#localEncrypt) && !cachePublicKeys) {
      throw new KeyswitchError('CONFIG_INVALID', 'localVerify and localEncrypt need cachePublicKeys', {
        provider: this.name,
      });
    }
  }

  /**
   * Opens the provider: loads the AWS SDK and builds a KMS client with keep-alive connections, adaptive
   * retries and timeouts, unless a client is passed in. Nothing is sent to KMS until the first operation.
   *
   * @throws CONFIG_INVALID for inconsistent options
   *
   * @example
   * ```ts
   * const kms = await AwsKmsProvider.open({ region: 'eu-west-1', rateLimits: true });
   * const mine = await AwsKmsProvider.open({ client: new KMSClient({ region: 'eu-west-1' }) });
   * ```
   */
  static async open(options: AwsKmsProviderOptions = {}): Promise<AwsKmsProvider> {
    const sdk = await import('@aws-sdk/client-kms');
    if (options.client) return new AwsKmsProvider(options, sdk, options.client, false);
    const client = createKmsClient(sdk, options);
    try {
      return new AwsKmsProvider(options, sdk, client, true);
    } catch (error) {
      client.destroy();
      throw error;
    }
  }

  // ---- hooks -------------------------------------------------------------------------------------

  protected onCapabilities(): Capabilities {
    return KMS_CAPABILITIES;
  }

  protected async onDescribeKey(ref: string): Promise<KeyDescription> {
    const { KeyMetadata } = await this.#requests.send('DescribeKey', 'describeKey', (sdk, client) =>
      client.send(new sdk.DescribeKeyCommand({ KeyId: ref })),
    );
    const alias = aliasName(ref);
    return keyDescription(KeyMetadata!, alias === undefined ? {} : { aliases: [alias] });
  }

  protected override onListKeys(options: { limit: number; nextToken?: string }): Promise<KeyList> {
    return listKmsKeys(this.#requests, options);
  }

  protected override onCreateKey(request: CreateKeyRequest): Promise<KeyDescription> {
    return createKmsKey(this.#requests, request);
  }

  protected override async onEnableKey(key: KeyFacts): Promise<void> {
    const keyId = await this.#requests.keyIdOrArn(key.ref);
    await this.#requests.send('EnableKey', 'management', (sdk, client) =>
      client.send(new sdk.EnableKeyCommand({ KeyId: keyId })),
    );
  }

  protected override async onDisableKey(key: KeyFacts): Promise<void> {
    const keyId = await this.#requests.keyIdOrArn(key.ref);
    await this.#requests.send('DisableKey', 'management', (sdk, client) =>
      client.send(new sdk.DisableKeyCommand({ KeyId: keyId })),
    );
  }

  protected override async onScheduleKeyDeletion(key: KeyFacts, pendingWindowDays: number): Promise<Date> {
    const keyId = await this.#requests.keyIdOrArn(key.ref);
    const { DeletionDate } = await this.#requests.send('ScheduleKeyDeletion', 'management', (sdk, client) =>
      client.send(
        new sdk.ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: pendingWindowDays }),
      ),
    );
    this.#publicKeys.forget(key.ref);
    return DeletionDate ?? new Date(Date.now() + pendingWindowDays * 86_400_000);
  }

  protected override async onCancelKeyDeletion(key: KeyFacts): Promise<void> {
    const keyId = await this.#requests.keyIdOrArn(key.ref);
    await this.#requests.send('CancelKeyDeletion', 'management', (sdk, client) =>
      client.send(new sdk.CancelKeyDeletionCommand({ KeyId: keyId })),
    );
  }

  protected override async onGetPublicKey(key: KeyFacts): Promise<Uint8Array> {
    return new Uint8Array(await this.#publicKeys.spki(key.ref));
  }

  protected override async onSign(key: KeyFacts, input: SignInput): Promise<Uint8Array> {
    const { message, messageType } = kmsMessage(input);
    const { Signature } = await this.#requests.send('Sign', rateClassFor(key.spec), (sdk, client) =>
      client.send(
        new sdk.SignCommand({
          KeyId: key.ref,
          Message: message,
          MessageType: messageType,
          SigningAlgorithm: input.algorithm,
        }),
      ),
    );
    return Signature!;
  }

  protected override async onVerify(
    key: KeyFacts,
    input: SignInput & { readonly signature: Uint8Array },
  ): Promise<boolean> {
    if (this.#localVerify && input.messageType === 'RAW') {
      const publicKey = await this.#publicKeys.keyObject(key.ref);
      return verifyLocally(publicKey, input.algorithm, input.message, input.signature);
    }
    return verifySignatureInKms(this.#requests, key, input);
  }

  protected override async onEncrypt(key: KeyFacts, input: CipherInput): Promise<Uint8Array> {
    if (this.#localEncrypt && input.algorithm !== 'SYMMETRIC_DEFAULT') {
      return encryptLocally(await this.#publicKeys.keyObject(key.ref), input.algorithm, input.data);
    }
    const { CiphertextBlob } = await this.#requests.send('Encrypt', rateClassFor(key.spec), (sdk, client) =>
      client.send(
        new sdk.EncryptCommand({
          KeyId: key.ref,
          Plaintext: input.data,
          EncryptionAlgorithm: input.algorithm,
          ...(input.context === undefined ? {} : { EncryptionContext: { ...input.context } }),
        }),
      ),
    );
    return CiphertextBlob!;
  }

  protected override async onDecrypt(key: KeyFacts, input: CipherInput): Promise<Uint8Array> {
    const { Plaintext } = await this.#requests.send('Decrypt', rateClassFor(key.spec), (sdk, client) =>
      client.send(
        new sdk.DecryptCommand({
          KeyId: key.ref,
          CiphertextBlob: input.data,
          EncryptionAlgorithm: input.algorithm,
          ...(input.context === undefined ? {} : { EncryptionContext: { ...input.context } }),
        }),
      ),
    );
    return Plaintext!;
  }

  protected override async onGenerateMac(
    key: KeyFacts,
    input: { algorithm: MacAlgorithm; message: Uint8Array },
  ): Promise<Uint8Array> {
    const { Mac } = await this.#requests.send('GenerateMac', 'hmac', (sdk, client) =>
      client.send(
        new sdk.GenerateMacCommand({ KeyId: key.ref, Message: input.message, MacAlgorithm: input.algorithm }),
      ),
    );
    return Mac!;
  }

  protected override onVerifyMac(
    key: KeyFacts,
    input: { algorithm: MacAlgorithm; message: Uint8Array; mac: Uint8Array },
  ): Promise<boolean> {
    return verifyMacInKms(this.#requests, key, input);
  }

  protected override async onDeriveSharedSecret(key: KeyFacts, peer: ParsedPublicKey): Promise<Uint8Array> {
    const { SharedSecret } = await this.#requests.send('DeriveSharedSecret', 'ecc', (sdk, client) =>
      client.send(
        new sdk.DeriveSharedSecretCommand({
          KeyId: key.ref,
          KeyAgreementAlgorithm: 'ECDH',
          PublicKey: peer.spki,
        }),
      ),
    );
    return SharedSecret!;
  }

  protected override async onGenerateDataKey(
    key: KeyFacts,
    input: { dataKeySpec: DataKeySpec; context: EncryptionContext | undefined; withPlaintext: boolean },
  ): Promise<{ plaintext?: Uint8Array; ciphertextBlob: Uint8Array }> {
    const request = {
      KeyId: key.ref,
      KeySpec: input.dataKeySpec,
      ...(input.context === undefined ? {} : { EncryptionContext: { ...input.context } }),
    };
    if (!input.withPlaintext) {
      const { CiphertextBlob } = await this.#requests.send(
        'GenerateDataKeyWithoutPlaintext',
        'symmetric',
        (sdk, client) => client.send(new sdk.GenerateDataKeyWithoutPlaintextCommand(request)),
      );
      return { ciphertextBlob: CiphertextBlob! };
    }
    const { Plaintext, CiphertextBlob } = await this.#requests.send(
      'GenerateDataKey',
      'symmetric',
      (sdk, client) => client.send(new sdk.GenerateDataKeyCommand(request)),
    );
    return { plaintext: Plaintext!, ciphertextBlob: CiphertextBlob! };
  }

  protected override async onGenerateRandom(length: number): Promise<Uint8Array> {
    const { Plaintext } = await this.#requests.send('GenerateRandom', 'generateRandom', (sdk, client) =>
      client.send(new sdk.GenerateRandomCommand({ NumberOfBytes: length })),
    );
    return Plaintext!;
  }

  protected override async onClose(): Promise<void> {
    if (this.#ownsClient) this.#client.destroy();
  }

  // ---- beyond the core contract ------------------------------------------------------------------

  /**
   * Generates a data key and returns only its wrapped form (KMS GenerateDataKeyWithoutPlaintext), for a
   * component that stores data keys for another to use. Audited as `generateDataKey`.
   *
   * @throws the codes of `generateDataKey`
   *
   * @example
   * ```ts
   * const { ciphertextBlob } = await kms.generateDataKeyWithoutPlaintext({ ref: 'alias/pan-kek', context: { tenant: 't1' } });
   * ```
   */
  generateDataKeyWithoutPlaintext(request: Omit<GenerateDataKeyRequest, 'withPlaintext'>): Promise<DataKey> {
    return this.generateDataKey({ ...request, withPlaintext: false });
  }

  /** An alias with a random name: well-formed, and no key has it. */
  protected override onNonexistentKeyRef(): string {
    return `alias/keyswitch-nonexistent-${randomUUID()}`;
  }

  /**
   * Imports key material into a new KMS key (bring your own key): CreateKey with `Origin: EXTERNAL`,
   * GetParametersForImport, the material wrapped here (RSA-OAEP-SHA-256 for secret keys, RSA + AES key
   * wrap for private keys), ImportKeyMaterial without expiry, then the alias. The key is ENABLED. If a
   * step fails, the new key is scheduled for deletion. Called by the core's `importKey`, which reads and
   * checks the material and audits the call.
   */
  protected override onImportKey(request: ImportKeyInput): Promise<KeyDescription> {
    return importKmsKey(this.#requests, request);
  }

  /**
   * Re-encrypts ciphertext under another key inside KMS (ReEncrypt): the plaintext never leaves KMS.
   * For key rotation across keys, and for moving data between tenants' keys.
   *
   * @throws INVALID_CIPHERTEXT, KEY_NOT_FOUND, KEY_DISABLED, USAGE_MISMATCH, ACCESS_DENIED, THROTTLED, UNAVAILABLE
   *
   * @example
   * ```ts
   * const { ciphertext } = await kms.reEncrypt({ ciphertext: old, destinationRef: 'alias/pan-kek-2025', sourceContext: ctx, destinationContext: ctx });
   * ```
   */
  reEncrypt(request: ReEncryptRequest, call: CallContext = {}): Promise<ReEncryptResult> {
    const target = {
      ref: request?.destinationRef,
      algorithm: request?.destinationAlgorithm ?? 'SYMMETRIC_DEFAULT',
    };
    return this.runOperation('reEncrypt', target, () => reEncryptInKms(this.#requests, request), call);
  }

  /**
   * Turns on automatic yearly (or `rotationPeriodDays`, 90 to 2,560) rotation of a symmetric key's material.
   *
   * @throws UNSUPPORTED_ALGORITHM for asymmetric and HMAC keys; KEY_DISABLED; KEY_NOT_FOUND
   *
   * @example
   * ```ts
   * await kms.enableKeyRotation('alias/pan-kek', { rotationPeriodDays: 365 });
   * ```
   */
  async enableKeyRotation(
    ref: string,
    options: { rotationPeriodDays?: number } = {},
    call: CallContext = {},
  ): Promise<void> {
    await this.runOperation(
      'enableKeyRotation',
      { ref },
      () => enableRotation(this.#requests, ref, options),
      call,
    );
  }

  /**
   * Turns off automatic rotation.
   *
   * @example
   * ```ts
   * await kms.disableKeyRotation('alias/pan-kek');
   * ```
   */
  async disableKeyRotation(ref: string): Promise<void> {
    await this.#extra(ref, () => disableRotation(this.#requests, ref));
  }

  /**
   * Whether automatic rotation is on, its period and the next rotation date.
   *
   * @example
   * ```ts
   * const { enabled, nextRotationDate } = await kms.getKeyRotationStatus('alias/pan-kek');
   * ```
   */
  async getKeyRotationStatus(ref: string): Promise<KeyRotationStatus> {
    return this.#extra(ref, () => rotationStatus(this.#requests, ref));
  }

  /**
   * Creates an alias (`alias/…`) for a key, in the caller's account.
   *
   * @throws INVALID_INPUT for a malformed or existing alias name; KEY_NOT_FOUND
   *
   * @example
   * ```ts
   * await kms.createAlias('alias/acs-signing-2025', keyArn);
   * ```
   */
  async createAlias(alias: string, ref: string, call: CallContext = {}): Promise<void> {
    await this.runOperation('createAlias', { ref }, () => createKmsAlias(this.#requests, alias, ref), call);
  }

  /**
   * Points an existing alias at another key: the zero-downtime way to switch an application to a new key.
   *
   * @example
   * ```ts
   * await kms.updateAlias('alias/acs-signing', newKeyArn);
   * ```
   */
  async updateAlias(alias: string, ref: string): Promise<void> {
    await this.#extra(ref, async () => {
      this.#publicKeys.forget(await updateKmsAlias(this.#requests, alias, ref));
    });
  }

  /**
   * Deletes an alias; the key is untouched.
   *
   * @example
   * ```ts
   * await kms.deleteAlias('alias/acs-signing-old');
   * ```
   */
  async deleteAlias(alias: string): Promise<void> {
    await this.#extra(alias, async () => {
      this.#publicKeys.forget(await deleteKmsAlias(this.#requests, alias));
    });
  }

  /**
   * Lists aliases in the caller's account, a page at a time; with `ref`, only that key's.
   *
   * @example
   * ```ts
   * const { aliases, nextToken } = await kms.listAliases({ ref: keyArn });
   * ```
   */
  async listAliases(
    options: { ref?: string; limit?: number; nextToken?: string } = {},
  ): Promise<{ aliases: KmsAlias[]; nextToken?: string }> {
    return this.#extra(options.ref, () => listKmsAliases(this.#requests, options));
  }

  // ---- internals ---------------------------------------------------------------------------------

  /** Runs an operation the core has no audit operation for, with the same error context and CLOSED check. */
  async #extra<T>(ref: string | undefined, body: () => Promise<T>): Promise<T> {
    try {
      if (this.closed) throw new KeyswitchError('CLOSED', 'the provider is closed');
      return await body();
    } catch (error) {
      const mapped = mapKmsError(error, 'request');
      throw mapped.withContext({ provider: this.name, keyRef: ref });
    }
  }
}
