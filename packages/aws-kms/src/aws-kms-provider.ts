import { randomUUID } from 'node:crypto';
import type { KMSClient } from '@aws-sdk/client-kms';
import {
  type CallContext,
  type Capabilities,
  type CipherInput,
  type CreateKeyRequest,
  type DataKey,
  type GenerateDataKeyRequest,
  type ImportKeyInput,
  type KeyDescription,
  type KeyFacts,
  type KeyList,
  KeyProvider,
  type MacAlgorithm,
  type ParsedPublicKey,
  parseWithSchema,
  type SignInput,
} from '@keyswitch/core';
import { awsKmsOptionsSchema } from './config.js';
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
import { createKmsKey } from './lib/create-key.js';
import { type CreationRecovery, CreationTokenFinder } from './lib/create-key-once.js';
import { decryptInKms } from './lib/decrypt-in-kms.js';
import { type DataKeyInput, generateDataKeyInKms } from './lib/generate-data-key-in-kms.js';
import { KeyCache } from './lib/key-cache.js';
import { aliasName, keyDescription } from './lib/key-description.js';
import { KMS_REQUEST_DEFAULTS, openKmsClient } from './lib/kms-client.js';
import type { KmsRequests, Sdk } from './lib/kms-requests.js';
import { kmsRequestsFromOptions } from './lib/kms-requests-from-options.js';
import { listKmsKeys } from './lib/list-keys.js';
import { encryptWithCachedKey, verifyWithCachedKey } from './lib/local-operations.js';
import { capabilitiesFor, probeEndpoint } from './lib/probe-capabilities.js';
import { rateClassFor } from './lib/rate-class.js';
import { verifyMacInKms, verifySignatureInKms } from './lib/verify-in-kms.js';
import type { AwsKmsProviderOptions } from './options.js';

/**
 * The AWS KMS backend: the keyswitch provider contract on `@aws-sdk/client-kms`. Keys are referenced by
 * key id, key ARN, alias name (`alias/acs-signing`) or alias ARN, including another account's ARNs.
 * The manifest declares KMS's 4,096-byte RAW message limit, so the core hashes a longer message and the
 * backend signs it as DIGEST; ECDSA signatures stay DER, as KMS returns them. Connections are kept alive, retries are bounded by a call timeout, public keys are cached,
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
  readonly #keys: KeyCache;
  readonly #localVerify: boolean;
  readonly #localEncrypt: boolean;
  readonly #creationRecovery: CreationRecovery;

  private constructor(options: AwsKmsProviderOptions, sdk: Sdk, client: KMSClient, ownsClient: boolean) {
    super(options);
    this.#client = client;
    this.#ownsClient = ownsClient;
    this.#localVerify = options.localVerify ?? false;
    this.#localEncrypt = options.localEncrypt ?? false;
    const managementTimeoutMs = options.managementTimeoutMs ?? KMS_REQUEST_DEFAULTS.managementTimeoutMs;
    this.#requests = kmsRequestsFromOptions(options, sdk, client);
    this.#creationRecovery = {
      windowMs: managementTimeoutMs,
      finder: new CreationTokenFinder(this.#requests),
    };
    this.#keys = new KeyCache(this.#requests, {
      enabled: options.cachePublicKeys ?? true,
      ttlMs: options.keyStateTtlMs ?? KMS_REQUEST_DEFAULTS.keyStateTtlMs,
    });
  }

  /**
   * Opens the provider: loads the AWS SDK and builds a KMS client with keep-alive connections, bounded
   * retries and timeouts, unless a client is passed in. Nothing is sent to KMS until the first operation;
   * in production, the endpoint and credentials the client will use are checked first (no request sent).
   *
   * @throws CONFIG_INVALID for options the configuration schema refuses, naming the option; in production,
   *   for a plain-HTTP endpoint or kms-local's published credentials not explicitly allowed
   *
   * @example
   * ```ts
   * const kms = await AwsKmsProvider.open({ region: 'eu-west-1', rateLimits: true });
   * const mine = await AwsKmsProvider.open({ client: new KMSClient({ region: 'eu-west-1' }) });
   * ```
   */
  static async open(options: AwsKmsProviderOptions = {}): Promise<AwsKmsProvider> {
    // The configuration's own schema checks the options given in code.
    parseWithSchema(awsKmsOptionsSchema, options, 'options');
    const sdk = await import('@aws-sdk/client-kms');
    const { client, ownsClient } = await openKmsClient(sdk, options);
    return new AwsKmsProvider(options, sdk, client, ownsClient);
  }

  // ---- hooks -------------------------------------------------------------------------------------

  /** What the endpoint offers, probed at first use (HMAC, key agreement) and cached by the core. */
  protected async onCapabilities(): Promise<Capabilities> {
    // Keys live in KMS; what this process caches about their state is trusted for the key-state TTL.
    const sharedKeys = { keyStateTtlMs: this.#keys.stateTtlMs };
    return { ...capabilitiesFor(await probeEndpoint(this.#requests)), sharedKeys };
  }

  protected async onDescribeKey(ref: string): Promise<KeyDescription> {
    const { KeyMetadata } = await this.#requests.send('DescribeKey', 'describeKey', (sdk, client) =>
      client.send(new sdk.DescribeKeyCommand({ KeyId: ref })),
    );
    this.#keys.record(ref, KeyMetadata!);
    const alias = aliasName(ref);
    return keyDescription(KeyMetadata!, alias === undefined ? {} : { aliases: [alias] });
  }

  protected override onListKeys(options: { limit: number; nextToken?: string }): Promise<KeyList> {
    return listKmsKeys(this.#requests, options);
  }

  protected override onCreateKey(request: CreateKeyRequest): Promise<KeyDescription> {
    return createKmsKey(this.#requests, request, this.#creationRecovery);
  }

  protected override async onEnableKey(key: KeyFacts): Promise<void> {
    const keyId = await this.#requests.keyIdOrArn(key.ref);
    await this.#requests.send('EnableKey', 'management', (sdk, client) =>
      client.send(new sdk.EnableKeyCommand({ KeyId: keyId })),
    );
    await this.#keys.forgetKey(key.ref);
  }

  protected override async onDisableKey(key: KeyFacts): Promise<void> {
    const keyId = await this.#requests.keyIdOrArn(key.ref);
    await this.#requests.send('DisableKey', 'management', (sdk, client) =>
      client.send(new sdk.DisableKeyCommand({ KeyId: keyId })),
    );
    await this.#keys.forgetKey(key.ref);
  }

  protected override async onScheduleKeyDeletion(key: KeyFacts, pendingWindowDays: number): Promise<Date> {
    const keyId = await this.#requests.keyIdOrArn(key.ref);
    const { DeletionDate } = await this.#requests.send('ScheduleKeyDeletion', 'management', (sdk, client) =>
      client.send(
        new sdk.ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: pendingWindowDays }),
      ),
    );
    await this.#keys.forgetKey(key.ref);
    return DeletionDate ?? new Date(Date.now() + pendingWindowDays * 86_400_000);
  }

  protected override async onCancelKeyDeletion(key: KeyFacts): Promise<void> {
    const keyId = await this.#requests.keyIdOrArn(key.ref);
    await this.#requests.send('CancelKeyDeletion', 'management', (sdk, client) =>
      client.send(new sdk.CancelKeyDeletionCommand({ KeyId: keyId })),
    );
    await this.#keys.forgetKey(key.ref);
  }

  protected override async onGetPublicKey(key: KeyFacts): Promise<Uint8Array> {
    return new Uint8Array(await this.#keys.spki(key.ref));
  }

  protected override async onSign(key: KeyFacts, input: SignInput, call?: CallContext): Promise<Uint8Array> {
    const { Signature, KeyId } = await this.#requests.send(
      'Sign',
      rateClassFor(key.spec),
      (sdk, client) =>
        client.send(
          new sdk.SignCommand({
            KeyId: key.ref,
            Message: input.message,
            MessageType: input.messageType,
            SigningAlgorithm: input.algorithm,
          }),
        ),
      { signal: call?.signal },
    );
    this.#keys.learn(key.ref, KeyId);
    return Signature!;
  }

  protected override async onVerify(
    key: KeyFacts,
    input: SignInput & { readonly signature: Uint8Array },
    call?: CallContext,
  ): Promise<boolean> {
    if (this.#localVerify && input.messageType === 'RAW') {
      return verifyWithCachedKey(this.#keys, key.ref, input);
    }
    return verifySignatureInKms(this.#requests, key, input, call?.signal);
  }

  protected override async onEncrypt(
    key: KeyFacts,
    input: CipherInput,
    call?: CallContext,
  ): Promise<Uint8Array> {
    if (this.#localEncrypt && input.algorithm !== 'SYMMETRIC_DEFAULT') {
      return encryptWithCachedKey(this.#keys, key.ref, input);
    }
    const { CiphertextBlob, KeyId } = await this.#requests.send(
      'Encrypt',
      rateClassFor(key.spec),
      (sdk, client) =>
        client.send(
          new sdk.EncryptCommand({
            KeyId: key.ref,
            Plaintext: input.data,
            EncryptionAlgorithm: input.algorithm,
            ...(input.context === undefined ? {} : { EncryptionContext: { ...input.context } }),
          }),
        ),
      { signal: call?.signal },
    );
    this.#keys.learn(key.ref, KeyId);
    return CiphertextBlob!;
  }

  protected override onDecrypt(key: KeyFacts, input: CipherInput, call?: CallContext): Promise<Uint8Array> {
    return decryptInKms(this.#requests, this.#keys, key, input, call?.signal);
  }

  protected override async onGenerateMac(
    key: KeyFacts,
    input: { algorithm: MacAlgorithm; message: Uint8Array },
    call?: CallContext,
  ): Promise<Uint8Array> {
    const { Mac } = await this.#requests.send(
      'GenerateMac',
      'hmac',
      (sdk, client) =>
        client.send(
          new sdk.GenerateMacCommand({
            KeyId: key.ref,
            Message: input.message,
            MacAlgorithm: input.algorithm,
          }),
        ),
      { signal: call?.signal },
    );
    return Mac!;
  }

  protected override onVerifyMac(
    key: KeyFacts,
    input: { algorithm: MacAlgorithm; message: Uint8Array; mac: Uint8Array },
    call?: CallContext,
  ): Promise<boolean> {
    return verifyMacInKms(this.#requests, key, input, call?.signal);
  }

  protected override async onDeriveSharedSecret(
    key: KeyFacts,
    peer: ParsedPublicKey,
    call?: CallContext,
  ): Promise<Uint8Array> {
    const { SharedSecret } = await this.#requests.send(
      'DeriveSharedSecret',
      'ecc',
      (sdk, client) =>
        client.send(
          new sdk.DeriveSharedSecretCommand({
            KeyId: key.ref,
            KeyAgreementAlgorithm: 'ECDH',
            PublicKey: peer.spki,
          }),
        ),
      { signal: call?.signal },
    );
    return SharedSecret!;
  }

  protected override onGenerateDataKey(
    key: KeyFacts,
    input: DataKeyInput,
  ): Promise<{ plaintext?: Uint8Array; ciphertextBlob: Uint8Array }> {
    return generateDataKeyInKms(this.#requests, key, input);
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

  /**
   * Imports key material into a new KMS key (bring your own key): CreateKey with `Origin: EXTERNAL`,
   * GetParametersForImport, the material wrapped here (RSA-OAEP-SHA-256 for secret keys, RSA + AES key
   * wrap for private keys), ImportKeyMaterial without expiry, then the alias. The key is ENABLED. If a
   * step fails, the new key is scheduled for deletion. Called by the core's `importKey`, which reads and
   * checks the material once and audits the call.
   */
  protected override onImportKey(request: ImportKeyInput): Promise<KeyDescription> {
    return importKmsKey(this.#requests, request, this.#creationRecovery);
  }

  /** An alias with a random name: well-formed, and no key has it. */
  protected override onNonexistentKeyRef(): string {
    return `alias/keyswitch-nonexistent-${randomUUID()}`;
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
    return this.runExtension('reEncrypt', target, () => reEncryptInKms(this.#requests, request), call);
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
    await this.runExtension(
      'enableKeyRotation',
      { ref },
      (declared) => enableRotation(this.#requests, ref, options, { once: declared.changesState }),
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
  async disableKeyRotation(ref: string, call: CallContext = {}): Promise<void> {
    await this.runExtension(
      'disableKeyRotation',
      { ref },
      (declared) => disableRotation(this.#requests, ref, { once: declared.changesState }),
      call,
    );
  }

  /**
   * Whether automatic rotation is on, its period and the next rotation date.
   *
   * @example
   * ```ts
   * const { enabled, nextRotationDate } = await kms.getKeyRotationStatus('alias/pan-kek');
   * ```
   */
  getKeyRotationStatus(ref: string, call: CallContext = {}): Promise<KeyRotationStatus> {
    return this.runExtension(
      'getKeyRotationStatus',
      { ref },
      () => rotationStatus(this.#requests, ref),
      call,
    );
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
    await this.runExtension(
      'createAlias',
      { ref },
      (declared) => createKmsAlias(this.#requests, alias, ref, { once: declared.changesState }),
      call,
    );
  }

  /**
   * Points an existing alias at another key: the zero-downtime way to switch an application to a new key.
   *
   * @example
   * ```ts
   * await kms.updateAlias('alias/acs-signing', newKeyArn);
   * ```
   */
  async updateAlias(alias: string, ref: string, call: CallContext = {}): Promise<void> {
    await this.runExtension(
      'updateAlias',
      { ref },
      async (declared) =>
        this.#keys.forgetAlias(
          await updateKmsAlias(this.#requests, alias, ref, { once: declared.changesState }),
        ),
      call,
    );
  }

  /**
   * Deletes an alias; the key is untouched.
   *
   * @example
   * ```ts
   * await kms.deleteAlias('alias/acs-signing-old');
   * ```
   */
  async deleteAlias(alias: string, call: CallContext = {}): Promise<void> {
    await this.runExtension(
      'deleteAlias',
      { ref: alias },
      async (declared) =>
        this.#keys.forgetAlias(await deleteKmsAlias(this.#requests, alias, { once: declared.changesState })),
      call,
    );
  }

  /**
   * Lists aliases in the caller's account, a page at a time; with `ref`, only that key's.
   *
   * @example
   * ```ts
   * const { aliases, nextToken } = await kms.listAliases({ ref: keyArn });
   * ```
   */
  listAliases(
    options: { ref?: string; limit?: number; nextToken?: string } = {},
    call: CallContext = {},
  ): Promise<{ aliases: KmsAlias[]; nextToken?: string }> {
    return this.runExtension(
      'listAliases',
      { ref: options.ref },
      () => listKmsAliases(this.#requests, options),
      call,
    );
  }
}
