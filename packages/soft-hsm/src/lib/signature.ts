import { constants, type KeyObject, sign, verify } from 'node:crypto';
import { promisify } from 'node:util';
import { algorithmInfo, type KeySpec, type SignInput } from '@keyswitch/core';
import { signEcdsaDigest, verifyEcdsaDigest } from './ecdsa-prehashed.js';
import type { AsymmetricMaterial } from './key-material.js';
import { signRsaDigest, verifyRsaDigest } from './rsa-prehashed.js';

const signAsync = promisify(sign);
const verifyAsync = promisify(verify);

/**
 * node:crypto's options for a RAW signature: PSS with MGF1 on the same hash and a digest-length salt;
 * ECDSA as r ‖ s (IEEE P1363), the software HSM's native format (the core converts to DER when asked).
 */
function keyOptions(key: KeyObject, input: SignInput) {
  const info = algorithmInfo(input.algorithm);
  switch (info.family) {
    case 'RSA_PSS':
      return { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: info.digestBytes! };
    case 'RSA_PKCS1':
      return { key, padding: constants.RSA_PKCS1_PADDING };
    default:
      return { key, dsaEncoding: 'ieee-p1363' as const };
  }
}

/**
 * Signs a message (hashed here, off the event loop by node:crypto) or a precomputed digest (encoded and
 * signed here, see `rsa-prehashed` and `ecdsa-prehashed`). ECDSA signatures are r ‖ s (IEEE P1363).
 */
export async function signMessage(
  material: AsymmetricMaterial,
  spec: KeySpec,
  input: SignInput,
): Promise<Uint8Array> {
  const info = algorithmInfo(input.algorithm);
  if (input.messageType === 'RAW') {
    return new Uint8Array(await signAsync(info.hash!, input.message, keyOptions(material.privateKey, input)));
  }
  if (info.family === 'ECDSA') return signEcdsaDigest(material.privateKey, spec, input.message);
  return signRsaDigest(
    material.privateKey,
    info.family === 'RSA_PSS' ? 'PSS' : 'PKCS1',
    info.hash!,
    input.message,
  );
}

/** Verifies a signature made by {@link signMessage}; a malformed or wrong signature gives `false`. */
export async function verifyMessage(
  material: AsymmetricMaterial,
  spec: KeySpec,
  input: SignInput & { readonly signature: Uint8Array },
): Promise<boolean> {
  const info = algorithmInfo(input.algorithm);
  if (input.messageType === 'RAW') {
    try {
      return await verifyAsync(
        info.hash!,
        input.message,
        keyOptions(material.publicKey, input),
        input.signature,
      );
    } catch {
      return false;
    }
  }
  if (info.family === 'ECDSA') {
    return verifyEcdsaDigest(material.privateKey, spec, input.message, input.signature);
  }
  const scheme = info.family === 'RSA_PSS' ? 'PSS' : 'PKCS1';
  return verifyRsaDigest(material.publicKey, scheme, info.hash!, input.message, input.signature);
}
