import type { EncryptionContext } from '@keyswitch/core';

/**
 * A parsed envelope: everything in the binary format, as views into the input. Holds the wrapped data key
 * (which only the backend can open), never key material.
 *
 * Binary layout (all lengths big-endian):
 *
 * ```
 * size  field
 *    4  magic "KSEN" (0x4b 0x53 0x45 0x4e)
 *    1  format version (0x01)
 *    1  flags: bit 0 = encryption context stored in the header; other bits must be 0
 *    1  N, length of the logical key name (1..128)
 *    N  logical key name (ASCII: letters, digits, . _ -)
 *    1  V, length of the key version id (1..64)
 *    V  key version id (ASCII: letters, digits, . _ -)
 *   [2  C, length of the stored context        only when flags bit 0 is set
 *    C  canonical encryption context]
 *    2  W, length of the wrapped data key (1..6144)
 *    W  wrapped data key: the backend's ciphertext of the 32-byte data key, bound to the context
 *   12  IV (random)
 *    n  ciphertext (AES-256-GCM)
 *   16  GCM tag
 * ```
 *
 * The GCM additional data is the magic, format version, flags, key name length and key name, followed by
 * the canonical encryption context. The key version and wrapped data key are deliberately outside it, so
 * that a re-wrap replaces them without touching the bulk ciphertext; they are authenticated by the backend
 * (the wrapped key opens only under its key and context) and by the tag (another data key fails it).
 *
 * @example
 * ```ts
 * const { keyName, keyVersion } = parseEnvelope(stored);
 * ```
 */
export interface Envelope {
  readonly formatVersion: 1;
  /** The logical key that wrapped the data key. */
  readonly keyName: string;
  /** The version of that logical key. */
  readonly keyVersion: string;
  /** The encryption context, when the envelope was sealed with `storeContext: true`. */
  readonly storedContext: EncryptionContext | undefined;
  /** The data key as wrapped by the backend key of that version. */
  readonly wrappedDataKey: Uint8Array;
  readonly iv: Uint8Array;
  readonly ciphertext: Uint8Array;
  readonly tag: Uint8Array;
}

/** The first four bytes of every envelope: "KSEN". */
export const ENVELOPE_MAGIC: Uint8Array = new Uint8Array([0x4b, 0x53, 0x45, 0x4e]);
/** The format version this package writes and reads. */
export const ENVELOPE_FORMAT_VERSION = 1;
/** Flag bit: the canonical encryption context is stored in the header. */
export const FLAG_CONTEXT_STORED = 0x01;
/** GCM IV length in bytes. */
export const IV_BYTES = 12;
/** GCM tag length in bytes. */
export const TAG_BYTES = 16;
/** Data key length in bytes (AES-256). */
export const DATA_KEY_BYTES = 32;
/** Largest wrapped data key accepted (the contract's largest ciphertext). */
export const MAX_WRAPPED_KEY_BYTES = 6144;
