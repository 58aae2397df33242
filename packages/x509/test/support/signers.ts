import type { KeySpec, SigningAlgorithm } from '@keyswitch/core';
import { SoftHsm } from '@keyswitch/soft-hsm';
import type { CertificateSigner } from '../../src/index.js';

/** A CertificateSigner over a software-HSM key, for one algorithm (one RSA key serves several). */
export function hsmSigner(hsm: SoftHsm, ref: string, algorithm: SigningAlgorithm): CertificateSigner {
  return {
    algorithm,
    sign: (message, options) =>
      hsm.sign({
        ref,
        algorithm,
        message,
        ...(options?.format === undefined ? {} : { signatureFormat: options.format }),
      }),
    publicKey: () => hsm.getPublicKey(ref),
  };
}

/** An in-memory software HSM with signing keys created once per test file (RSA generation is slow). */
export async function hsmWithKeys(keys: Readonly<Record<string, KeySpec>>): Promise<SoftHsm> {
  const hsm = await SoftHsm.open();
  await Promise.all(
    Object.entries(keys).map(([label, spec]) => hsm.createKey({ spec, usage: 'SIGN_VERIFY', label })),
  );
  return hsm;
}
