import { invalidInput, type PublicKey, publicKeyFromSpki, withArticle } from '@keyswitch/core';
import type { CertificateSigner } from '../certificate-signer.js';
import { type SignatureAlgorithm, signatureAlgorithmOf } from './signature-algorithm.js';

/** Checks a signer once: its algorithm is one X.509 uses, and its key fits the algorithm. */
export async function checkedSigner(
  signer: CertificateSigner,
  what: string,
): Promise<{ facts: SignatureAlgorithm; publicKey: PublicKey }> {
  if (typeof signer !== 'object' || signer === null || typeof signer.sign !== 'function') {
    throw invalidInput(`${what} must have sign() and publicKey()`);
  }
  if (typeof signer.publicKey !== 'function')
    throw invalidInput(`${what} must be able to tell its public key`);
  const facts = signatureAlgorithmOf(signer.algorithm);
  const publicKey = publicKeyFromSpki((await signer.publicKey()).spki);
  if ((facts.family === 'ECDSA') !== (publicKey.family === 'EC')) {
    throw invalidInput(`${what} uses ${signer.algorithm} with ${withArticle(publicKey.keySpec)} key`);
  }
  return { facts, publicKey };
}
