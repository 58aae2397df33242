import { algorithmInfo, type SignatureFormat, type SigningAlgorithm } from '@keyswitch/core';
import { usageError } from './cli-error.js';

/** The `--format` option of sign and verify: `der` or `p1363`, for ECDSA keys only. */
export function parseSignatureFormat(
  format: string | undefined,
  algorithm: SigningAlgorithm,
): SignatureFormat | undefined {
  if (format === undefined) return undefined;
  const lower = format.toLowerCase();
  if (lower !== 'der' && lower !== 'p1363') throw usageError('--format must be der or p1363');
  if (algorithmInfo(algorithm).family !== 'ECDSA') {
    throw usageError(`--format applies to ECDSA signatures; ${algorithm} has one format`);
  }
  return lower === 'der' ? 'DER' : 'P1363';
}

/** Whether `signature` looks like an ECDSA DER SEQUENCE (tag 0x30 and a length that fits). */
export function looksLikeDer(signature: Uint8Array): boolean {
  if (signature.length < 8 || signature[0] !== 0x30) return false;
  const length = signature[1]!;
  if (length < 0x80) return length === signature.length - 2;
  return length === 0x81 && signature[2] === signature.length - 3;
}
