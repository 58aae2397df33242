import { createHash } from 'node:crypto';
import { ecdsaP1363ToDer, invalidInput } from '@keyswitch/core';
import type { CertificateSigner } from '../certificate-signer.js';
import type { SignatureAlgorithm } from './signature-algorithm.js';

/** The largest message signed whole; larger ones are hashed here when the signer can sign digests. */
const MAX_RAW_MESSAGE_BYTES = 4096;

/** Signs the DER to-be-signed bytes with the backend key; ECDSA signatures come out DER, as X.509 wants. */
export async function signTbs(
  signer: CertificateSigner,
  facts: SignatureAlgorithm,
  tbs: Uint8Array,
): Promise<Uint8Array> {
  const signature =
    tbs.length > MAX_RAW_MESSAGE_BYTES && typeof signer.signDigest === 'function'
      ? await signer.signDigest(new Uint8Array(createHash(facts.hash).update(tbs).digest()), {
          format: 'DER',
        })
      : await signer.sign(tbs, { format: 'DER' });
  if (!(signature instanceof Uint8Array) || signature.length === 0)
    throw invalidInput('the signer returned no signature');
  // A signer that ignored the format option answered r || s (an even length, not a DER SEQUENCE).
  if (facts.family === 'ECDSA' && signature[0] !== 0x30) return ecdsaP1363ToDer(signature);
  return signature;
}
