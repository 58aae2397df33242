// A CommonJS application using the packed keyswitch packages from configuration: the software HSM,
// SoftHSM2 over PKCS#11 and AWS KMS (kms-local), each loaded by Keyswitch.fromConfig. Prints one JSON line.
'use strict';
const { verify } = require('node:crypto');
const { Keyswitch, KeyswitchError } = require('@keyswitch/core');
const { KMS_LOCAL_DEFAULT_CREDENTIALS, startKmsLocal } = require('@keyswitch/kms-local');

const payload = Buffer.from('{"messageType":"ARes","transStatus":"Y"}');

async function run() {
  const label = `cjs-${process.pid}`;
  const kms = await startKmsLocal({ keys: [{ alias: label, spec: 'ECC_NIST_P256', usage: 'SIGN_VERIFY' }] });
  const signing = { spec: 'ECC_NIST_P256', algorithm: 'ECDSA_SHA_256' };
  const ks = await Keyswitch.fromConfig({
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
  });
  const result = { verified: {} };
  try {
    for (const provider of ['soft', 'hsm'])
      await (await ks.provider(provider)).createKey({ spec: 'ECC_NIST_P256', usage: 'SIGN_VERIFY', label });
    for (const name of ['soft-signing', 'hsm-signing', 'kms-signing']) {
      const signer = ks.signer(name);
      const signature = await signer.sign(payload, { format: 'P1363' });
      const key = (await signer.publicKey()).keyObject();
      result.verified[name] = verify('sha256', payload, { key, dsaEncoding: 'ieee-p1363' }, signature);
    }
    try {
      await ks.signer('ghost').sign(payload);
    } catch (error) {
      result.missingKey = { instanceOfKeyswitchError: error instanceof KeyswitchError, code: error.code };
    }
    result.coreBuilds = Object.keys(require.cache).filter((file) =>
      /[\\/]@keyswitch[\\/]core[\\/]/.test(file),
    );
  } finally {
    await ks.close();
    await kms.close();
  }
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

run().catch((error) => {
  process.stderr.write(`${error?.stack ?? String(error)}\n`);
  process.exitCode = 1;
});
