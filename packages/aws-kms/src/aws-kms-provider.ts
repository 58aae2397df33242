import { createHash, type KeyObject, randomUUID } from 'node:crypto';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { KMSClient, KMSClientConfig } from '@aws-sdk/client-kms';
import {
  ALGORITHMS,
  type Algorithm,
  algorithmInfo,
  type CallContext,
  type Capabilities,
  type CipherInput,
  type CreateKeyRequest,
  type DataKey,
  type DataKeySpec,
  type EncryptionAlgorithm,
  type EncryptionContext,
  type GenerateDataKeyRequest,
  type ImportKeyInput,
  KEY_SPECS,
  type KeyDescription,
  type KeyFacts,
  type KeyList,
  KeyProvider,
  type KeyProviderOptions,
  type KeySpec,
  KeyswitchError,
  type KeyUsage,
  keySpecInfo,
  type MacAlgorithm,
  type ParsedPublicKey,
  type SignInput,
} from '@keyswitch/core';
import { aliasName, isAliasReference, keyDescription } from './lib/key-description.js';
import { encryptLocally, publicKeyObject, verifyLocally } from './lib/local-public-key.js';
import { mapKmsError } from './lib/map-kms-error.js';
import { RateLimiter } from './lib/rate-limiter.js';
import { keyMaterial, wrapKeyMaterial, wrappingAlgorithmFor } from './lib/wrap-key-material.js';
import { KMS_DEFAULT_RATE_LIMITS, type RateLimitClass, type RateLimits } from './rate-limits.js';

type Sdk = typeof import('@aws-sdk/client-kms');

/**
 * Largest message KMS signs or verifies as `RAW`; longer messages are hashed here and sent as `DIGEST`.
 *
 * @example
 * ```ts
 * const messageType = message.byteLength > KMS_MAX_RAW_MESSAGE_BYTES ? 'DIGEST' : 'RAW';
 * ```
 */
export const KMS_MAX_RAW_MESSAGE_BYTES = 4096;
const KMS_MAX_SIGNATURE_BYTES = 6144;
const KMS_MAX_MAC_BYTES = 64;

const DEFAULTS = {
  maxAttempts: 3,
  requestTimeoutMs: 10_000,
  connectionTimeoutMs: 3_000,
  maxSockets: 50,
} as const;

/**
 * How to open an AWS KMS provider.
 *
 * @example
 * ```ts
 * const options: AwsKmsProviderOptions = { region: 'eu-west-1', maxAttempts: 5, localVerify: true, rateLimits: true };
 * ```
 */
export interface AwsKmsProviderOptions extends KeyProviderOptions {
  /** A KMS client of your own; the options below that configure a client are then ignored, and close() leaves it open. */
  readonly client?: KMSClient | undefined;
  /** The AWS Region; defaults to the SDK's chain (`AWS_REGION`, the profile). */
  readonly region?: string | undefined;
  /** A VPC endpoint URL (`https://vpce-…kms.eu-west-1.vpce.amazonaws.com`) or kms-local's endpoint. */
  readonly endpoint?: string | undefined;
  /** A profile in the shared AWS config files. */
  readonly profile?: string | undefined;
  /** Credentials or a credential provider; defaults to the SDK's chain (environment, files, instance and container roles). */
  readonly credentials?: KMSClientConfig['credentials'] | undefined;
  /** Attempts per request, first try included, with the SDK's retry strategy (default 3). */
  readonly maxAttempts?: number | undefined;
  /** The SDK's retry mode: `adaptive` (default; also paces requests after throttling) or `standard`. */
  readonly retryMode?: 'adaptive' | 'standard' | undefined;
  /** How long one attempt may take before it fails as UNAVAILABLE (default 10,000 ms). */
  readonly requestTimeoutMs?: number | undefined;
  /** How long opening a connection may take (default 3,000 ms). */
  readonly connectionTimeoutMs?: number | undefined;
  /** Most concurrent connections kept alive to KMS (default 50). */
  readonly maxSockets?: number | undefined;
  /** Cache public keys, which never change for a KMS key (default true). */
  readonly cachePublicKeys?: boolean | undefined;
  /**
   * Verify RAW-message signatures locally with the cached public key, without a KMS request (default
   * false). A disabled key then still verifies, as it does for anyone holding its public key, and the
   * verification is not in CloudTrail.
   */
  readonly localVerify?: boolean | undefined;
  /** Encrypt to RSA keys locally with the cached public key (default false); the same caveats as `localVerify`. */
  readonly localEncrypt?: boolean | undefined;
  /**
   * A client-side rate limit per request class: `true` for {@link KMS_DEFAULT_RATE_LIMITS}, or your
   * quotas. Requests wait their turn (up to `maxWaitMs`) instead of being throttled by KMS. Off by default.
   */
  readonly rateLimits?: boolean | RateLimits | undefined;
}

/**
 * A ReEncrypt request: decrypt with the source key and encrypt with the destination key, inside KMS.
 *
 * @example
 * ```ts
 * const request: ReEncryptRequest = { ciphertext, destinationRef: 'alias/pan-kek-2025', sourceContext: ctx, destinationContext: ctx };
 * ```
 */
export interface ReEncryptRequest {
  readonly ciphertext: Uint8Array;
  /** The key to encrypt under. */
  readonly destinationRef: string;
  /** Required for asymmetric source ciphertext; optional for symmetric (the blob names its key). */
  readonly sourceRef?: string;
  readonly sourceAlgorithm?: EncryptionAlgorithm;
  readonly destinationAlgorithm?: EncryptionAlgorithm;
  readonly sourceContext?: EncryptionContext;
  readonly destinationContext?: EncryptionContext;
}

/**
 * The result of {@link AwsKmsProvider.reEncrypt}.
 *
 * @example
 * ```ts
 * const { ciphertext, destinationKeyArn } = await kms.reEncrypt(request);
 * ```
 */
export interface ReEncryptResult {
  readonly ciphertext: Uint8Array;
  /** The ARN of the key that decrypted. */
  readonly sourceKeyArn: string;
  /** The ARN of the key that encrypted. */
  readonly destinationKeyArn: string;
}

/**
 * Key material to import into KMS (BYOK): a key created with `Origin: EXTERNAL`, then its material.
 *
 * @example
 * ```ts
 * const request: KmsImportKeyRequest = { spec: 'SYMMETRIC_DEFAULT', usage: 'ENCRYPT_DECRYPT', key: createSecretKey(randomBytes(32)), label: 'pan-kek-test' };
 * ```
 */
export interface KmsImportKeyRequest {
  readonly spec: KeySpec;
  readonly usage: KeyUsage;
  /** The material: a node:crypto private key (RSA, EC) or secret key (SYMMETRIC_DEFAULT: 32 bytes; HMAC). */
  readonly key: KeyObject;
  /** An alias for the key, without `alias/`. */
  readonly label?: string;
  readonly description?: string;
  readonly tags?: Readonly<Record<string, string>>;
}

/**
 * A KMS alias.
 *
 * @example
 * ```ts
 * const { aliases } = await kms.listAliases();
 * const names = aliases.map((alias: KmsAlias) => alias.aliasName);
 * ```
 */
export interface KmsAlias {
  readonly aliasName: string;
  readonly aliasArn: string;
  /** The key id it points to (absent for AWS managed aliases not yet in use). */
  readonly targetKeyId?: string;
}

/**
 * Automatic rotation settings of a symmetric key.
 *
 * @example
 * ```ts
 * const status: KeyRotationStatus = await kms.getKeyRotationStatus('alias/pan-kek');
 * ```
 */
export interface KeyRotationStatus {
  readonly enabled: boolean;
  readonly rotationPeriodDays?: number;
  readonly nextRotationDate?: Date;
}

const CAPABILITIES: Capabilities = Object.freeze({
  keySpecs: Object.freeze(
    Object.fromEntries(
      KEY_SPECS.map((spec) => [spec, Object.freeze({ usages: keySpecInfo(spec).usages, create: true })]),
    ),
  ),
  algorithms: ALGORITHMS,
  operations: Object.freeze({
    createKey: true,
    enableKey: true,
    disableKey: true,
    scheduleKeyDeletion: true,
    cancelKeyDeletion: true,
    listKeys: true,
    generateDataKey: true,
    generateRandom: true,
    importKey: true,
  }),
  deletionWindowDays: Object.freeze({ min: 7, max: 30 }),
  importKinds: Object.freeze(['private', 'secret'] as const),
  // KMS returns DER and signs RAW messages of 1 to 4,096 bytes; the core hashes any other message.
  signing: Object.freeze({
    ecdsaSignatureFormat: 'DER',
    rawMessageBytes: Object.freeze({ min: 1, max: KMS_MAX_RAW_MESSAGE_BYTES }),
  }),
  notes: Object.freeze([
    'AWS KMS: keys in FIPS 140-3 validated HSMs; ECC_SECG_P256K1, SM2, HMAC_224 and ML-DSA keys are outside keyswitch and are skipped',
  ]),
});

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
  readonly #sdk: Sdk;
  readonly #client: KMSClient;
  readonly #ownsClient: boolean;
  readonly #cachePublicKeys: boolean;
  readonly #localVerify: boolean;
  readonly #localEncrypt: boolean;
  readonly #limiter: RateLimiter | undefined;
  readonly #spki = new Map<string, Promise<Uint8Array>>();
  readonly #keyObjects = new Map<string, KeyObject>();

  private constructor(options: AwsKmsProviderOptions, sdk: Sdk, client: KMSClient, ownsClient: boolean) {
    super(options);
    this.#sdk = sdk;
    this.#client = client;
    this.#ownsClient = ownsClient;
    this.#cachePublicKeys = options.cachePublicKeys ?? true;
    this.#localVerify = options.localVerify ?? false;
    this.#localEncrypt = options.localEncrypt ?? false;
    const limits = options.rateLimits === true ? KMS_DEFAULT_RATE_LIMITS : options.rateLimits || undefined;
    this.#limiter = limits ? new RateLimiter(limits) : undefined;
    if ((this.#localVerify || this.#localEncrypt) && !this.#cachePublicKeys) {
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
    const maxSockets = options.maxSockets ?? DEFAULTS.maxSockets;
    const client = new sdk.KMSClient({
      ...(options.region === undefined ? {} : { region: options.region }),
      ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
      ...(options.profile === undefined ? {} : { profile: options.profile }),
      ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
      maxAttempts: options.maxAttempts ?? DEFAULTS.maxAttempts,
      retryMode: options.retryMode ?? 'adaptive',
      requestHandler: {
        httpAgent: new HttpAgent({ keepAlive: true, maxSockets }),
        httpsAgent: new HttpsAgent({ keepAlive: true, maxSockets }),
        requestTimeout: options.requestTimeoutMs ?? DEFAULTS.requestTimeoutMs,
        connectionTimeout: options.connectionTimeoutMs ?? DEFAULTS.connectionTimeoutMs,
        throwOnRequestTimeout: true,
      },
    });
    try {
      return new AwsKmsProvider(options, sdk, client, true);
    } catch (error) {
      client.destroy();
      throw error;
    }
  }

  // ---- hooks -------------------------------------------------------------------------------------

  protected onCapabilities(): Capabilities {
    return CAPABILITIES;
  }

  protected async onDescribeKey(ref: string): Promise<KeyDescription> {
    const { KeyMetadata } = await this.#call('DescribeKey', 'describeKey', (sdk, client) =>
      client.send(new sdk.DescribeKeyCommand({ KeyId: ref })),
    );
    const alias = aliasName(ref);
    return keyDescription(KeyMetadata!, alias === undefined ? {} : { aliases: [alias] });
  }

  protected override async onListKeys(options: { limit: number; nextToken?: string }): Promise<KeyList> {
    const listed = await this.#call('ListKeys', 'list', (sdk, client) =>
      client.send(
        new sdk.ListKeysCommand({
          Limit: options.limit,
          ...(options.nextToken === undefined ? {} : { Marker: options.nextToken }),
        }),
      ),
    );
    const descriptions = await mapConcurrently(listed.Keys ?? [], 8, async (entry) => {
      try {
        const { KeyMetadata } = await this.#call('DescribeKey', 'describeKey', (sdk, client) =>
          client.send(new sdk.DescribeKeyCommand({ KeyId: entry.KeyArn ?? entry.KeyId! })),
        );
        return keyDescription(KeyMetadata!);
      } catch (error) {
        // Keys keyswitch cannot use (other specs) and keys deleted meanwhile are left out of the list.
        if (
          error instanceof KeyswitchError &&
          (error.code === 'UNSUPPORTED_ALGORITHM' || error.code === 'KEY_NOT_FOUND')
        ) {
          return undefined;
        }
        throw error;
      }
    });
    const keys = descriptions.filter(
      (description): description is KeyDescription => description !== undefined,
    );
    return listed.Truncated && listed.NextMarker ? { keys, nextToken: listed.NextMarker } : { keys };
  }

  protected override async onCreateKey(request: CreateKeyRequest): Promise<KeyDescription> {
    const tags = Object.entries(request.tags ?? {}).map(([TagKey, TagValue]) => ({ TagKey, TagValue }));
    const { KeyMetadata } = await this.#call('CreateKey', 'management', (sdk, client) =>
      client.send(
        new sdk.CreateKeyCommand({
          KeySpec: request.spec,
          KeyUsage: request.usage,
          ...(request.description === undefined ? {} : { Description: request.description }),
          ...(tags.length > 0 ? { Tags: tags } : {}),
        }),
      ),
    );
    const aliases: string[] = [];
    if (request.label !== undefined) {
      const alias = request.label.startsWith('alias/') ? request.label : `alias/${request.label}`;
      try {
        await this.#call('CreateAlias', 'management', (sdk, client) =>
          client.send(new sdk.CreateAliasCommand({ AliasName: alias, TargetKeyId: KeyMetadata!.KeyId })),
        );
      } catch (error) {
        // Do not leave an unnamed key behind: schedule it for deletion with the shortest window.
        await this.#call('ScheduleKeyDeletion', 'management', (sdk, client) =>
          client.send(
            new sdk.ScheduleKeyDeletionCommand({ KeyId: KeyMetadata!.Arn, PendingWindowInDays: 7 }),
          ),
        ).catch(() => undefined);
        throw error;
      }
      aliases.push(alias);
    }
    return keyDescription(KeyMetadata!, { aliases, ...(request.tags ? { tags: request.tags } : {}) });
  }

  protected override async onEnableKey(key: KeyFacts): Promise<void> {
    const keyId = await this.#keyIdOrArn(key.ref);
    await this.#call('EnableKey', 'management', (sdk, client) =>
      client.send(new sdk.EnableKeyCommand({ KeyId: keyId })),
    );
  }

  protected override async onDisableKey(key: KeyFacts): Promise<void> {
    const keyId = await this.#keyIdOrArn(key.ref);
    await this.#call('DisableKey', 'management', (sdk, client) =>
      client.send(new sdk.DisableKeyCommand({ KeyId: keyId })),
    );
  }

  protected override async onScheduleKeyDeletion(key: KeyFacts, pendingWindowDays: number): Promise<Date> {
    const keyId = await this.#keyIdOrArn(key.ref);
    const { DeletionDate } = await this.#call('ScheduleKeyDeletion', 'management', (sdk, client) =>
      client.send(
        new sdk.ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: pendingWindowDays }),
      ),
    );
    this.#forgetPublicKey(key.ref);
    return DeletionDate ?? new Date(Date.now() + pendingWindowDays * 86_400_000);
  }

  protected override async onCancelKeyDeletion(key: KeyFacts): Promise<void> {
    const keyId = await this.#keyIdOrArn(key.ref);
    await this.#call('CancelKeyDeletion', 'management', (sdk, client) =>
      client.send(new sdk.CancelKeyDeletionCommand({ KeyId: keyId })),
    );
  }

  protected override async onGetPublicKey(key: KeyFacts): Promise<Uint8Array> {
    return new Uint8Array(await this.#publicKeySpki(key.ref));
  }

  protected override async onSign(key: KeyFacts, input: SignInput): Promise<Uint8Array> {
    const { message, messageType } = kmsMessage(input);
    const { Signature } = await this.#call('Sign', rateClassFor(key.spec), (sdk, client) =>
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
      return verifyLocally(
        await this.#publicKeyObject(key.ref),
        input.algorithm,
        input.message,
        input.signature,
      );
    }
    // KMS refuses a signature over 6,144 bytes as invalid input; no such signature can match.
    if (input.signature.byteLength > KMS_MAX_SIGNATURE_BYTES) return false;
    const { message, messageType } = kmsMessage(input);
    try {
      const { SignatureValid } = await this.#call('Verify', rateClassFor(key.spec), (sdk, client) =>
        client.send(
          new sdk.VerifyCommand({
            KeyId: key.ref,
            Message: message,
            MessageType: messageType,
            Signature: input.signature,
            SigningAlgorithm: input.algorithm,
          }),
        ),
      );
      return SignatureValid === true;
    } catch (error) {
      if (isCause(error, 'KMSInvalidSignatureException')) return false;
      throw error;
    }
  }

  protected override async onEncrypt(key: KeyFacts, input: CipherInput): Promise<Uint8Array> {
    if (this.#localEncrypt && input.algorithm !== 'SYMMETRIC_DEFAULT') {
      return encryptLocally(await this.#publicKeyObject(key.ref), input.algorithm, input.data);
    }
    const { CiphertextBlob } = await this.#call('Encrypt', rateClassFor(key.spec), (sdk, client) =>
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
    const { Plaintext } = await this.#call('Decrypt', rateClassFor(key.spec), (sdk, client) =>
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
    const { Mac } = await this.#call('GenerateMac', 'hmac', (sdk, client) =>
      client.send(
        new sdk.GenerateMacCommand({ KeyId: key.ref, Message: input.message, MacAlgorithm: input.algorithm }),
      ),
    );
    return Mac!;
  }

  protected override async onVerifyMac(
    key: KeyFacts,
    input: { algorithm: MacAlgorithm; message: Uint8Array; mac: Uint8Array },
  ): Promise<boolean> {
    // KMS refuses a MAC outside 1 to 64 bytes as invalid input; no such MAC can match, so it is false.
    if (input.mac.byteLength < 1 || input.mac.byteLength > KMS_MAX_MAC_BYTES) return false;
    try {
      const { MacValid } = await this.#call('VerifyMac', 'hmac', (sdk, client) =>
        client.send(
          new sdk.VerifyMacCommand({
            KeyId: key.ref,
            Message: input.message,
            MacAlgorithm: input.algorithm,
            Mac: input.mac,
          }),
        ),
      );
      return MacValid === true;
    } catch (error) {
      if (isCause(error, 'KMSInvalidMacException')) return false;
      throw error;
    }
  }

  protected override async onDeriveSharedSecret(key: KeyFacts, peer: ParsedPublicKey): Promise<Uint8Array> {
    const { SharedSecret } = await this.#call('DeriveSharedSecret', 'ecc', (sdk, client) =>
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
      const { CiphertextBlob } = await this.#call(
        'GenerateDataKeyWithoutPlaintext',
        'symmetric',
        (sdk, client) => client.send(new sdk.GenerateDataKeyWithoutPlaintextCommand(request)),
      );
      return { ciphertextBlob: CiphertextBlob! };
    }
    const { Plaintext, CiphertextBlob } = await this.#call('GenerateDataKey', 'symmetric', (sdk, client) =>
      client.send(new sdk.GenerateDataKeyCommand(request)),
    );
    return { plaintext: Plaintext!, ciphertextBlob: CiphertextBlob! };
  }

  protected override async onGenerateRandom(length: number): Promise<Uint8Array> {
    const { Plaintext } = await this.#call('GenerateRandom', 'generateRandom', (sdk, client) =>
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
  protected override async onImportKey(request: ImportKeyInput): Promise<KeyDescription> {
    const material = keyMaterial(request.key);
    const algorithm = wrappingAlgorithmFor(request.key);
    const tags = Object.entries(request.tags ?? {}).map(([TagKey, TagValue]) => ({ TagKey, TagValue }));
    const { KeyMetadata } = await this.#call('CreateKey', 'management', (sdk, client) =>
      client.send(
        new sdk.CreateKeyCommand({
          KeySpec: request.spec,
          KeyUsage: request.usage,
          Origin: 'EXTERNAL',
          ...(request.description === undefined ? {} : { Description: request.description }),
          ...(tags.length > 0 ? { Tags: tags } : {}),
        }),
      ),
    );
    const keyArn = KeyMetadata!.Arn!;
    try {
      const parameters = await this.#call('GetParametersForImport', 'management', (sdk, client) =>
        client.send(
          new sdk.GetParametersForImportCommand({
            KeyId: keyArn,
            WrappingAlgorithm: algorithm,
            WrappingKeySpec: 'RSA_2048',
          }),
        ),
      );
      const wrapped = wrapKeyMaterial(material, parameters.PublicKey!, algorithm);
      await this.#call('ImportKeyMaterial', 'management', (sdk, client) =>
        client.send(
          new sdk.ImportKeyMaterialCommand({
            KeyId: keyArn,
            ImportToken: parameters.ImportToken!,
            EncryptedKeyMaterial: wrapped,
            ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE',
          }),
        ),
      );
      const aliases: string[] = [];
      if (request.label !== undefined) {
        const alias = request.label.startsWith('alias/') ? request.label : `alias/${request.label}`;
        await this.#call('CreateAlias', 'management', (sdk, client) =>
          client.send(new sdk.CreateAliasCommand({ AliasName: alias, TargetKeyId: keyArn })),
        );
        aliases.push(alias);
      }
      const { KeyMetadata: imported } = await this.#call('DescribeKey', 'describeKey', (sdk, client) =>
        client.send(new sdk.DescribeKeyCommand({ KeyId: keyArn })),
      );
      return keyDescription(imported!, { aliases, ...(request.tags ? { tags: request.tags } : {}) });
    } catch (error) {
      await this.#call('ScheduleKeyDeletion', 'management', (sdk, client) =>
        client.send(new sdk.ScheduleKeyDeletionCommand({ KeyId: keyArn, PendingWindowInDays: 7 })),
      ).catch(() => undefined);
      throw error;
    } finally {
      material.fill(0);
    }
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
    return this.runOperation(
      'reEncrypt',
      target,
      async () => {
        if (!(request.ciphertext instanceof Uint8Array) || request.ciphertext.byteLength === 0) {
          throw new KeyswitchError('INVALID_INPUT', 'ciphertext must be a non-empty Uint8Array');
        }
        const sourceAlgorithm = request.sourceAlgorithm ?? 'SYMMETRIC_DEFAULT';
        const destinationAlgorithm = request.destinationAlgorithm ?? 'SYMMETRIC_DEFAULT';
        const result = await this.#call(
          'ReEncrypt',
          rateClassForAlgorithm(destinationAlgorithm),
          (sdk, client) =>
            client.send(
              new sdk.ReEncryptCommand({
                CiphertextBlob: request.ciphertext,
                DestinationKeyId: request.destinationRef,
                ...(request.sourceRef === undefined ? {} : { SourceKeyId: request.sourceRef }),
                SourceEncryptionAlgorithm: sourceAlgorithm,
                DestinationEncryptionAlgorithm: destinationAlgorithm,
                ...(request.sourceContext === undefined
                  ? {}
                  : { SourceEncryptionContext: { ...request.sourceContext } }),
                ...(request.destinationContext === undefined
                  ? {}
                  : { DestinationEncryptionContext: { ...request.destinationContext } }),
              }),
            ),
        );
        return {
          ciphertext: result.CiphertextBlob!,
          sourceKeyArn: result.SourceKeyId!,
          destinationKeyArn: result.KeyId!,
        };
      },
      call,
    );
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
      async () => {
        const keyId = await this.#keyIdOrArn(ref);
        await this.#call('EnableKeyRotation', 'management', (sdk, client) =>
          client.send(
            new sdk.EnableKeyRotationCommand({
              KeyId: keyId,
              ...(options.rotationPeriodDays === undefined
                ? {}
                : { RotationPeriodInDays: options.rotationPeriodDays }),
            }),
          ),
        );
      },
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
    await this.#extra(ref, async () => {
      const keyId = await this.#keyIdOrArn(ref);
      await this.#call('DisableKeyRotation', 'management', (sdk, client) =>
        client.send(new sdk.DisableKeyRotationCommand({ KeyId: keyId })),
      );
    });
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
    return this.#extra(ref, async () => {
      const keyId = await this.#keyIdOrArn(ref);
      const status = await this.#call('GetKeyRotationStatus', 'management', (sdk, client) =>
        client.send(new sdk.GetKeyRotationStatusCommand({ KeyId: keyId })),
      );
      return {
        enabled: status.KeyRotationEnabled === true,
        ...(status.RotationPeriodInDays === undefined
          ? {}
          : { rotationPeriodDays: status.RotationPeriodInDays }),
        ...(status.NextRotationDate === undefined ? {} : { nextRotationDate: status.NextRotationDate }),
      };
    });
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
    await this.runOperation(
      'createAlias',
      { ref },
      async () => {
        const name = alias.startsWith('alias/') ? alias : `alias/${alias}`;
        const keyId = await this.#keyIdOrArn(ref);
        await this.#call('CreateAlias', 'management', (sdk, client) =>
          client.send(new sdk.CreateAliasCommand({ AliasName: name, TargetKeyId: keyId })),
        );
      },
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
  async updateAlias(alias: string, ref: string): Promise<void> {
    await this.#extra(ref, async () => {
      const name = alias.startsWith('alias/') ? alias : `alias/${alias}`;
      const keyId = await this.#keyIdOrArn(ref);
      await this.#call('UpdateAlias', 'management', (sdk, client) =>
        client.send(new sdk.UpdateAliasCommand({ AliasName: name, TargetKeyId: keyId })),
      );
      this.#forgetPublicKey(name);
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
      const name = alias.startsWith('alias/') ? alias : `alias/${alias}`;
      await this.#call('DeleteAlias', 'management', (sdk, client) =>
        client.send(new sdk.DeleteAliasCommand({ AliasName: name })),
      );
      this.#forgetPublicKey(name);
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
    return this.#extra(options.ref, async () => {
      const keyId = options.ref === undefined ? undefined : await this.#keyIdOrArn(options.ref);
      const listed = await this.#call('ListAliases', 'list', (sdk, client) =>
        client.send(
          new sdk.ListAliasesCommand({
            ...(keyId === undefined ? {} : { KeyId: keyId }),
            ...(options.limit === undefined ? {} : { Limit: options.limit }),
            ...(options.nextToken === undefined ? {} : { Marker: options.nextToken }),
          }),
        ),
      );
      const aliases = (listed.Aliases ?? []).map((alias) => ({
        aliasName: alias.AliasName!,
        aliasArn: alias.AliasArn!,
        ...(alias.TargetKeyId === undefined ? {} : { targetKeyId: alias.TargetKeyId }),
      }));
      return listed.Truncated && listed.NextMarker ? { aliases, nextToken: listed.NextMarker } : { aliases };
    });
  }

  // ---- internals ---------------------------------------------------------------------------------

  /** Sends one KMS request, after the rate limiter lets it, and maps its failure. */
  async #call<T>(
    operation: string,
    rateClass: RateLimitClass,
    run: (sdk: Sdk, client: KMSClient) => Promise<T>,
  ): Promise<T> {
    try {
      await this.#limiter?.acquire(rateClass, operation);
      return await run(this.#sdk, this.#client);
    } catch (error) {
      throw mapKmsError(error, operation);
    }
  }

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

  /** Key-management operations take a key id or key ARN, not an alias: resolve aliases with DescribeKey. */
  async #keyIdOrArn(ref: string): Promise<string> {
    if (typeof ref !== 'string' || ref.length === 0) {
      throw new KeyswitchError('INVALID_INPUT', 'key reference must be a non-empty string');
    }
    if (!isAliasReference(ref)) return ref;
    const { KeyMetadata } = await this.#call('DescribeKey', 'describeKey', (sdk, client) =>
      client.send(new sdk.DescribeKeyCommand({ KeyId: ref })),
    );
    return KeyMetadata!.Arn!;
  }

  #publicKeySpki(ref: string): Promise<Uint8Array> {
    const fetch = () =>
      this.#call('GetPublicKey', 'getPublicKey', (sdk, client) =>
        client.send(new sdk.GetPublicKeyCommand({ KeyId: ref })),
      ).then(({ PublicKey }) => PublicKey!);
    if (!this.#cachePublicKeys) return fetch();
    let cached = this.#spki.get(ref);
    if (!cached) {
      cached = fetch();
      this.#spki.set(ref, cached);
      cached.catch(() => this.#spki.delete(ref));
    }
    return cached;
  }

  async #publicKeyObject(ref: string): Promise<KeyObject> {
    const known = this.#keyObjects.get(ref);
    if (known) return known;
    const key = publicKeyObject(await this.#publicKeySpki(ref));
    this.#keyObjects.set(ref, key);
    return key;
  }

  #forgetPublicKey(ref: string): void {
    this.#spki.delete(ref);
    this.#keyObjects.delete(ref);
  }
}

/** The message and message type to send: RAW up to 4,096 bytes, else the digest, hashed here. */
function kmsMessage(input: SignInput): { message: Uint8Array; messageType: 'RAW' | 'DIGEST' } {
  if (input.messageType === 'RAW' && input.message.byteLength > KMS_MAX_RAW_MESSAGE_BYTES) {
    const hash = algorithmInfo(input.algorithm).hash!;
    return {
      message: new Uint8Array(createHash(hash).update(input.message).digest()),
      messageType: 'DIGEST',
    };
  }
  return { message: input.message, messageType: input.messageType };
}

function rateClassFor(spec: KeyFacts['spec']): RateLimitClass {
  switch (keySpecInfo(spec).family) {
    case 'RSA':
      return 'rsa';
    case 'EC':
      return 'ecc';
    case 'HMAC':
      return 'hmac';
    case 'AES':
      return 'symmetric';
  }
}

function rateClassForAlgorithm(algorithm: Algorithm): RateLimitClass {
  return algorithm === 'SYMMETRIC_DEFAULT' ? 'symmetric' : 'rsa';
}

/** Whether a mapped error was caused by the named KMS exception. */
function isCause(error: unknown, name: string): boolean {
  return error instanceof KeyswitchError && (error.cause as { name?: string } | undefined)?.name === name;
}

async function mapConcurrently<T, R>(
  items: readonly T[],
  limit: number,
  map: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await map(items[index]!);
    }
  });
  await Promise.all(workers);
  return results;
}
