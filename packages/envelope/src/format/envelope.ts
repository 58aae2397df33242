import type { EncryptionContext } from '@keyswitch/core';

/**
 * One wrapped copy of an envelope's data key: which key version (or multi-keyring member) wrapped it, and
 * the backend's ciphertext of the 32-byte data key.
 *
 * @example
 * ```ts
 * for (const { keyVersion } of parseEnvelope(stored).wrappedKeys) console.log(keyVersion); // 'pan-kek-kms', 'pan-kek-hsm'
 * ```
 */
export interface WrappedDataKey {
  /** The key version id, or the multi-keyring member's key name, that wrapped the data key. */
  readonly keyVersion: string;
  /** The data key as that backend key wrapped it, bound to the encryption context. */
  readonly wrappedDataKey: Uint8Array;
}

/**
 * A parsed envelope: everything in the binary format, as views into the input. Holds wrapped data keys
 * (which only the backends can open), never key material.
 *
 * Format 2 (written), all lengths big-endian:
 *
 * ```
 * size  field
 *    4  magic "KSEN" (0x4b 0x53 0x45 0x4e)
 *    1  format version (0x02)
 *    1  flags: bit 0 = encryption context stored in the header; other bits must be 0
 *    1  N, length of the logical key name (1..128)
 *    N  logical key name (ASCII: letters, digits, . _ -)
 *   [2  C, length of the stored context        only when flags bit 0 is set
 *    C  canonical encryption context]
 *   32  salt: the HKDF salt, chosen with the data key
 *   32  key commitment
 *    1  K, number of wrapped data keys (1..8)
 *  K × (1  V, length of the key version id (1..64)
 *       V  key version id, or multi-keyring member key name
 *       2  W, length of the wrapped data key (1..6144)
 *       W  wrapped data key)
 *   12  IV (random)
 *    n  ciphertext (AES-256-GCM under the derived key)
 *   16  GCM tag
 * ```
 *
 * HKDF-SHA-512 (RFC 5869) of the data key, with the salt and an info string naming the format, the key
 * name and the canonical context, gives 64 bytes: the AES-256-GCM key, then the commitment. The
 * commitment is checked (in constant time) before anything is decrypted, so a data key other than the one
 * the envelope was sealed with is refused even when the GCM tag would pass. The GCM additional data is
 * the magic, format version, flags, key name, canonical context, salt and commitment. The wrapped data
 * keys are outside it, so that a re-wrap replaces them without touching the ciphertext: whichever of them
 * a backend opens must give the committed data key.
 *
 * Format 1 (read only) has no salt or commitment, exactly one wrapped key after the key version, and GCM
 * under the data key itself with the magic, version, flags, key name and context as additional data.
 *
 * @example
 * ```ts
 * const { keyName, keyVersion, formatVersion } = parseEnvelope(stored);
 * ```
 */
export interface Envelope {
  /** 2 for what this package writes; 1 for envelopes written before key commitment (read only). */
  readonly formatVersion: 1 | 2;
  /** The logical key that wrapped the data key. */
  readonly keyName: string;
  /** The version (or first multi-keyring member) of that logical key: `wrappedKeys[0].keyVersion`. */
  readonly keyVersion: string;
  /** The encryption context, when the envelope was sealed with `storeContext: true`. */
  readonly storedContext: EncryptionContext | undefined;
  /** The data key as wrapped by the first entry's backend key: `wrappedKeys[0].wrappedDataKey`. */
  readonly wrappedDataKey: Uint8Array;
  /** Every wrapped copy of the data key, in the order written (format 1: exactly one). */
  readonly wrappedKeys: readonly WrappedDataKey[];
  /** The HKDF salt (format 2). */
  readonly salt: Uint8Array | undefined;
  /** The key commitment (format 2). */
  readonly commitment: Uint8Array | undefined;
  readonly iv: Uint8Array;
  readonly ciphertext: Uint8Array;
  readonly tag: Uint8Array;
}

/** The first four bytes of every envelope: "KSEN". */
export const ENVELOPE_MAGIC: Uint8Array = new Uint8Array([0x4b, 0x53, 0x45, 0x4e]);
/** The format version this package writes (it also reads format 1). */
export const ENVELOPE_FORMAT_VERSION = 2;
/** The format before key commitment: read, re-wrapped to format 2, never written. */
export const LEGACY_FORMAT_VERSION = 1;
/** Flag bit: the canonical encryption context is stored in the header. */
export const FLAG_CONTEXT_STORED = 0x01;
/** GCM IV length in bytes. */
export const IV_BYTES = 12;
/** GCM tag length in bytes. */
export const TAG_BYTES = 16;
/** Data key length in bytes (AES-256). */
export const DATA_KEY_BYTES = 32;
/** HKDF salt length in bytes (format 2). */
export const SALT_BYTES = 32;
/** Key commitment length in bytes (format 2). */
export const COMMITMENT_BYTES = 32;
/** Most wrapped copies of a data key in one envelope (format 2). */
export const MAX_WRAPPED_KEYS = 8;
/** Largest wrapped data key accepted (the contract's largest ciphertext). */
export const MAX_WRAPPED_KEY_BYTES = 6144;
