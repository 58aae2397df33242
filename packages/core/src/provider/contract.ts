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
  readonly usage: KeyUsage;
  /** The algorithms this key may be used with (by spec and usage). */
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
}

/**
 * A backend's capability manifest: what it can hold, create and do. The core and the conformance suite
 * both read it; anything it does not declare fails with UNSUPPORTED_ALGORITHM.
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
