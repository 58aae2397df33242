// An ESM TypeScript application using the packed keyswitch packages from configuration: the software HSM,
// SoftHSM2 over PKCS#11 and AWS KMS (kms-local), each loaded by Keyswitch.fromConfig. It is type-checked
// with moduleResolution node16 and bundler, and run from its node16 build. Prints one JSON line.
import { createPublicKey, verify } from 'node:crypto';
import { Keyswitch, type KeyswitchConfigInput, KeyswitchError } from '@keyswitch/core';
import { KMS_LOCAL_DEFAULT_CREDENTIALS, startKmsLocal } from '@keyswitch/kms-local';

const payload = new TextEncoder().encode('{"messageType":"ARes","transStatus":"Y"}');
const label = `esm-${process.pid}`;
const kms = await startKmsLocal({ keys: [{ alias: label, spec: 'ECC_NIST_P256', usage: 'SIGN_VERIFY' }] });
const signing = { spec: 'ECC_NIST_P256', algorithm: 'ECDSA_SHA_256' } as const;
const config: KeyswitchConfigInput = {
  environment: 'development',
  providers: {
    soft: { type: 'soft-hsm' },
    hsm: {
      type: 'pkcs11',
      profile: 'softhsm',
      module: { env: 'KEYSWITCH_SOFTHSM2_MODULE' },
      token: { label: 'keyswitch' },
      pin: { env: 'KEYSWITCH_SOFTHSM2_PIN' },
    },
    kms: {
      type: 'aws-kms',
      region: 'us-east-1',
      endpoint: kms.endpoint,
      credentials: {
        accessKeyId: KMS_LOCAL_DEFAULT_CREDENTIALS.accessKeyId,
        secretAccessKey: { env: 'KMS_LOCAL_SECRET_ACCESS_KEY' },
      },
    },
  },
  keys: {
    'soft-signing': { provider: 'soft', ref: label, ...signing },
    'hsm-signing': { provider: 'hsm', ref: `pkcs11:object=${label};type=private`, ...signing },
    'kms-signing': { provider: 'kms', ref: `alias/${label}`, ...signing },
    ghost: { provider: 'soft', ref: 'never-created', ...signing },
  },
};
const ks = await Keyswitch.fromConfig(config);
const result: {
  verified: Record<string, boolean>;
  jwkMatches: Record<string, boolean>;
  missingKey?: { instanceOfKeyswitchError: boolean; code: string };
} = { verified: {}, jwkMatches: {} };
try {
  for (const provider of ['soft', 'hsm'])
    await (await ks.provider(provider)).createKey({ spec: 'ECC_NIST_P256', usage: 'SIGN_VERIFY', label });
  for (const name of ['soft-signing', 'hsm-signing', 'kms-signing']) {
    const signer = ks.signer(name);
    const signature = await signer.sign(payload, { format: 'P1363' });
    const publicKey = await signer.publicKey();
    result.verified[name] = verify(
      'sha256',
      payload,
      { key: publicKey.keyObject(), dsaEncoding: 'ieee-p1363' },
      signature,
    );
    // The quickstart's line: jwk() is a JsonWebKey to node:crypto under strict TypeScript.
    result.jwkMatches[name] = createPublicKey({ key: publicKey.jwk(), format: 'jwk' }).equals(
      publicKey.keyObject(),
    );
  }
  try {
    await ks.signer('ghost').sign(payload);
  } catch (error) {
    result.missingKey = {
      instanceOfKeyswitchError: error instanceof KeyswitchError,
      code: error instanceof KeyswitchError ? error.code : String(error),
    };
  }
} finally {
  await ks.close();
  await kms.close();
}
process.stdout.write(`${JSON.stringify(result)}\n`);
