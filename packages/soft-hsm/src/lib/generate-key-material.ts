import { generateKeyPair, type KeyObject, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { type KeySpec, keySpecInfo } from '@keyswitch/core';
import { asymmetricMaterial, type KeyMaterial, secretMaterial } from './key-material.js';

const generatePair = promisify(generateKeyPair);

/**
 * Generates fresh key material for a key spec off the event loop: RSA with public exponent 65537, EC on
 * the spec's curve, AES-256 and HMAC keys as random bytes of the spec's size.
 */
export async function generateKeyMaterial(spec: KeySpec): Promise<KeyMaterial> {
  const info = keySpecInfo(spec);
  let privateKey: KeyObject;
  switch (info.family) {
    case 'RSA':
      ({ privateKey } = await generatePair('rsa', { modulusLength: info.bits, publicExponent: 0x10001 }));
      return asymmetricMaterial(privateKey);
    case 'EC':
      ({ privateKey } = await generatePair('ec', { namedCurve: info.namedCurve! }));
      return asymmetricMaterial(privateKey);
    case 'AES':
    case 'HMAC':
      return secretMaterial(randomBytes(info.bits / 8));
  }
}
