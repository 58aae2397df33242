import type {
  Algorithm,
  EncryptionAlgorithm,
  KeyAgreementAlgorithm,
  MacAlgorithm,
  SigningAlgorithm,
} from '../vocabulary/algorithms.js';
import type { KeySpec, KeyUsage } from '../vocabulary/key-specs.js';

/** A key's lifecycle state, as every backend reports it. */
export type KeyState = 'ENABLED' | 'DISABLED' | 'PENDING_DELETION';

/** What a backend says about one of its keys. Never contains key material. */
export interface KeyDescription {
  /** The canonical provider-native reference: a KMS key ARN, a `pkcs11:` URI, a software-HSM key name. */
  readonly ref: string;
  /** The backend's stable identifier for the key (KMS KeyId, PKCS#11 CKA_ID in hex, a software-HSM id). */
  readonly keyId: string;
  /** Human names the key also answers to (KMS aliases, a PKCS#11 label). */
  readonly aliases: readonly string[];
  readonly spec: KeySpec;
  /** The key's usage; for a key that allows several, the first of {@link KeyDescription.usages}. */
  readonly usage: KeyUsage;
  /**
   * Every usage the backend key allows, when it allows more than one (PKCS#11 keys made by other tools
   * often sign and decrypt). A key configured for any of them is accepted for that usage.
   */
  readonly usages?: readonly KeyUsage[];
  /** The algorithms this key may be used with (by spec and usages). */
  readonly algorithms: readonly Algorithm[];
  readonly state: KeyState;
  readonly createdAt?: Date;
  /** When a key pending deletion will be destroyed. */
  readonly deletionDate?: Date;
  /** The backend's key version, where it has one. */
  readonly version?: string;
  readonly description?: string;
  readonly tags?: Readonly<Record<string, string>>;
}

/** A request to create a key in a backend. */
export interface CreateKeyRequest {
  readonly spec: KeySpec;
  readonly usage: KeyUsage;
  /** A label or alias for the key (a KMS alias without `alias/`, a PKCS#11 CKA_LABEL, a software-HSM name). */
  readonly label?: string;
  readonly description?: string;
  readonly tags?: Readonly<Record<string, string>>;
}

/**
 * What an imported key is: a private key (RSA, EC; the backend holds both halves), a secret key (AES,
 * HMAC) or a public key alone (verify and encrypt only, as KMS and PKCS#11 tokens hold trusted peer keys).
 */
export type ImportKeyKind = 'private' | 'secret' | 'public';

/**
 * Known key material to import into a backend, the one shape every backend takes. Give exactly one of
 * `pem`, `pkcs8`, `pkcs12`, `raw` and `spki`. The core reads and checks it once (the key's spec from the
 * key itself for RSA and EC, the length rules for secret keys, size and iteration caps for PKCS#12) and
 * hands the backend a node:crypto key.
 *
 * For RSA and EC keys `spec`, when given, must match the key. For secret keys (`raw`) `spec` is required:
 * `SYMMETRIC_DEFAULT` takes 32 bytes; `HMAC_256` 32 to 64, `HMAC_384` 48 to 128 and `HMAC_512` 64 to 128
 * (the AWS KMS import rules).
 *
 * @example
 * ```ts
 * const request: ImportKeyRequest = {
 *   label: 'acs-signing',
 *   usage: 'SIGN_VERIFY',
 *   pem: readFileSync('test/fixtures/acs-signing.key.pem', 'utf8'),
 * };
 * await provider.importKey(request);
 * ```
 */
export interface ImportKeyRequest {
  readonly usage: KeyUsage;
  /** Required with `raw`; for asymmetric keys, a check on what the key turns out to be. */
  readonly spec?: KeySpec;
  /** A label or alias for the key, as in {@link CreateKeyRequest.label}. Backends that name keys require it. */
  readonly label?: string;
  /**
   * A PEM key: `PRIVATE KEY` (PKCS#8), `RSA PRIVATE KEY` or `EC PRIVATE KEY`, not encrypted; or a
   * `PUBLIC KEY` (SPKI) for a public-only import.
   */
  readonly pem?: string;
  /** A DER PKCS#8 PrivateKeyInfo, unencrypted. */
  readonly pkcs8?: Uint8Array;
  /** A PKCS#12 (`.p12`, `.pfx`) file holding exactly one private key, and its password. */
  readonly pkcs12?: { readonly data: Uint8Array; readonly password: string };
  /** Secret key bytes for SYMMETRIC_DEFAULT and HMAC keys. */
  readonly raw?: Uint8Array;
  /** A DER SubjectPublicKeyInfo, for a public-only import. */
  readonly spki?: Uint8Array;
  readonly description?: string;
  readonly tags?: Readonly<Record<string, string>>;
}

/**
 * Backend-specific operations keyswitch knows, by the name they are audited under. A backend declares the
 * ones it has in {@link Capabilities.extensions} and runs them through the core's checked, audited path;
 * a new extension is added here, so that audit readers see one vocabulary.
 */
export type ExtensionName =
  | 'reEncrypt'
  | 'enableKeyRotation'
  | 'disableKeyRotation'
  | 'getKeyRotationStatus'
  | 'createAlias'
  | 'updateAlias'
  | 'deleteAlias'
  | 'listAliases';

/** Every extension name, for iteration and validation. */
export const EXTENSION_NAMES: readonly ExtensionName[] = [
  'reEncrypt',
  'enableKeyRotation',
  'disableKeyRotation',
  'getKeyRotationStatus',
  'createAlias',
  'updateAlias',
  'deleteAlias',
  'listAliases',
];

/** What a backend says about one of its extensions. */
export interface ExtensionInfo {
  /**
   * Whether a call changes state (creates, moves, deletes, reconfigures something). Every call is audited;
   * a state-changing one is never retried blindly: `KeyProvider.runExtension` hands this declaration
   * to the backend's body, which then sends the request once (AWS KMS: no SDK retry).
   */
  readonly changesState: boolean;
}

/**
 * How a backend signs, so that the core applies every signature rule once: it converts an ECDSA signature
 * at most once (none when the caller asks for the backend's native format) and hashes a message locally
 * when the backend cannot take it whole.
 */
export interface SigningTraits {
  /** The ECDSA encoding `onSign` returns and `onVerify` receives: PKCS#11 tokens P1363, KMS DER. */
  readonly ecdsaSignatureFormat: SignatureFormat;
  /**
   * The shortest and longest message the backend signs whole (RAW), in bytes (AWS KMS: 1 to 4,096). A
   * message outside is hashed by the core and signed as a digest, so that every backend signs and
   * verifies every message, the empty one included, with the same result.
   */
  readonly rawMessageBytes: { readonly min: number; readonly max: number };
}

/** What a backend that declares no {@link SigningTraits} does: DER, any message length. */
export const DEFAULT_SIGNING_TRAITS: SigningTraits = Object.freeze({
  ecdsaSignatureFormat: 'DER',
  rawMessageBytes: Object.freeze({ min: 0, max: Number.POSITIVE_INFINITY }),
});

/** A page of keys. */
export interface KeyList {
  readonly keys: readonly KeyDescription[];
  /** Pass to the next `listKeys` call for the following page; absent on the last page. */
  readonly nextToken?: string;
}

/** How an ECDSA signature is encoded: DER (X9.62, as KMS and X.509 use) or IEEE P1363 `r||s` (as JOSE uses). */
export type SignatureFormat = 'DER' | 'P1363';

/** Whether `message` is the message itself or its precomputed digest. */
export type MessageType = 'RAW' | 'DIGEST';

/** A signing request. */
export interface SignRequest {
  readonly ref: string;
  readonly algorithm: SigningAlgorithm;
  readonly message: Uint8Array;
  /** `RAW` (default) hashes `message`; `DIGEST` signs it as a digest, which must be the hash's length. */
  readonly messageType?: MessageType;
  /** For ECDSA: the encoding of the returned signature; DER by default. Ignored for RSA. */
  readonly signatureFormat?: SignatureFormat;
}

/** A verification request. */
export interface VerifyRequest extends SignRequest {
  readonly signature: Uint8Array;
}

/** An encryption context: non-secret key-value pairs bound to symmetric ciphertext (as AAD). */
export type EncryptionContext = Readonly<Record<string, string>>;

/** An encryption request. */
export interface EncryptRequest {
  readonly ref: string;
  readonly algorithm: EncryptionAlgorithm;
  readonly plaintext: Uint8Array;
  /** Only with SYMMETRIC_DEFAULT. The same context must be given to decrypt. */
  readonly context?: EncryptionContext;
}

/** A decryption request. */
export interface DecryptRequest {
  readonly ref: string;
  readonly algorithm: EncryptionAlgorithm;
  readonly ciphertext: Uint8Array;
  readonly context?: EncryptionContext;
}

/** A MAC request. */
export interface MacRequest {
  readonly ref: string;
  readonly algorithm: MacAlgorithm;
  readonly message: Uint8Array;
}

/** A MAC verification request. */
export interface VerifyMacRequest extends MacRequest {
  readonly mac: Uint8Array;
}

/** A key agreement request. */
export interface DeriveSharedSecretRequest {
  readonly ref: string;
  readonly algorithm: KeyAgreementAlgorithm;
  /** The peer's public key: SPKI DER. Its curve must be the key's curve. */
  readonly publicKey: Uint8Array;
}

/** The size of a data key. */
export type DataKeySpec = 'AES_256' | 'AES_128';

/** A data key request. */
export interface GenerateDataKeyRequest {
  readonly ref: string;
  readonly dataKeySpec?: DataKeySpec;
  readonly context?: EncryptionContext;
  /** Whether to return the plaintext data key as well as its wrapped form (default true). */
  readonly withPlaintext?: boolean;
}

/** A generated data key. `plaintext` is the caller's to zero when done. */
export interface DataKey {
  /** The data key, wrapped by the backend key; decrypt it with `decrypt` and the same context. */
  readonly ciphertextBlob: Uint8Array;
  readonly plaintext?: Uint8Array;
  /** The reference of the key that wrapped it. */
  readonly ref: string;
}

/** Lifecycle and operation features a backend declares. */
export interface ProviderOperations {
  readonly createKey: boolean;
  readonly enableKey: boolean;
  readonly disableKey: boolean;
  readonly scheduleKeyDeletion: boolean;
  /** Whether a scheduled deletion can be cancelled (absent: no). */
  readonly cancelKeyDeletion?: boolean;
  readonly listKeys: boolean;
  readonly generateDataKey: boolean;
  readonly generateRandom: boolean;
  /** Whether `importKey` works (absent: no); {@link Capabilities.importKinds} says which kinds. */
  readonly importKey?: boolean;
}

/**
 * A backend's capability manifest: what it can hold, create and do. The core and the conformance suite
 * both read it; an algorithm or key spec it does not declare fails with UNSUPPORTED_ALGORITHM, an
 * operation or extension with UNSUPPORTED_OPERATION.
 */
export interface Capabilities {
  /** For each key spec the backend can hold: the usages, and whether it can create such keys. */
  readonly keySpecs: Readonly<
    Partial<Record<KeySpec, { readonly usages: readonly KeyUsage[]; readonly create: boolean }>>
  >;
  /** The algorithms the backend performs. */
  readonly algorithms: readonly Algorithm[];
  readonly operations: ProviderOperations;
  /** Shortest and longest deletion waiting periods, in days (KMS: 7 and 30). */
  readonly deletionWindowDays: { readonly min: number; readonly max: number };
  /** Free-form notes on what the backend lacks and why (shown in conformance reports). */
  readonly notes?: readonly string[];
  /** With `operations.importKey`: the kinds of key material it imports (absent: private and secret). */
  readonly importKinds?: readonly ImportKeyKind[];
  /** How it signs (absent: {@link DEFAULT_SIGNING_TRAITS}). */
  readonly signing?: SigningTraits;
  /** The backend-specific operations it has, each run through the core's checks and audit. */
  readonly extensions?: Readonly<Partial<Record<ExtensionName, ExtensionInfo>>>;
  /**
   * Present when other instances of this provider (another process, client or registry on the same
   * backend) work on the same keys: a key disabled there is refused here with KEY_DISABLED within
   * `keyStateTtlMs` (0: at once, the backend itself refuses). Absent: each instance has keys of its own
   * (an in-memory software HSM), and conformance reports the check as unsupported.
   */
  readonly sharedKeys?: { readonly keyStateTtlMs: number };
}

/** Limits every backend enforces identically (the AWS KMS limits, so an app that works on one works on all). */
export const LIMITS = {
  /** Largest plaintext for SYMMETRIC_DEFAULT encryption, in bytes. */
  maxSymmetricPlaintextBytes: 4096,
  /** Largest message for GenerateMac/VerifyMac, in bytes. */
  maxMacMessageBytes: 4096,
  /** Largest request for random bytes. */
  maxRandomBytes: 1024,
  /** Largest encryption context: total bytes of keys and values. */
  maxContextBytes: 8192,
  /** Largest ciphertext accepted by decrypt, in bytes. */
  maxCiphertextBytes: 6144,
} as const;
