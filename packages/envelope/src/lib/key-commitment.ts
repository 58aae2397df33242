import { createHash, hkdfSync, timingSafeEqual } from 'node:crypto';
import { COMMITMENT_BYTES, DATA_KEY_BYTES } from '../format/envelope.js';

const LABEL = Buffer.from('keyswitch envelope v2: AES-256-GCM key and key commitment\0', 'latin1');

/**
 * Format 2's key schedule, after the AWS Encryption SDK's committing suites: HKDF-SHA-512 (RFC 5869) of
 * the data key, salted with the envelope's salt, with the format label and the SHA-512 of the key name and
 * canonical context as info (hashed: HKDF's info is short, a context may be 8 KiB). The 64 bytes out are the AES-256-GCM key, then the commitment. Computed once per
 * cached data key, so a record costs no more than in format 1.
 *
 * @returns 64 bytes the caller owns and zeroes: `[0, 32)` the encryption key, `[32, 64)` the commitment
 */
export function deriveKeyAndCommitment(
  dataKey: Uint8Array,
  salt: Uint8Array,
  keyName: string,
  contextBytes: Uint8Array,
): Buffer {
  const name = Buffer.from(keyName, 'latin1');
  const bound = createHash('sha512')
    .update(Buffer.from([name.length]))
    .update(name)
    .update(contextBytes);
  const info = Buffer.concat([LABEL, bound.digest()]);
  const out = Buffer.from(
    hkdfSync('sha512', dataKey, salt, info, DATA_KEY_BYTES + COMMITMENT_BYTES) as ArrayBuffer,
  );
  return out;
}

/** The encryption key part of {@link deriveKeyAndCommitment}'s output (a view, zeroed with it). */
export function encryptionKeyOf(derived: Buffer): Buffer {
  return derived.subarray(0, DATA_KEY_BYTES);
}

/** The commitment part of {@link deriveKeyAndCommitment}'s output (a view). */
export function commitmentOf(derived: Buffer): Buffer {
  return derived.subarray(DATA_KEY_BYTES, DATA_KEY_BYTES + COMMITMENT_BYTES);
}

/** Whether an envelope's commitment is the derived one, compared in constant time. */
export function commitmentMatches(derived: Buffer, commitment: Uint8Array): boolean {
  return commitment.length === COMMITMENT_BYTES && timingSafeEqual(commitmentOf(derived), commitment);
}
