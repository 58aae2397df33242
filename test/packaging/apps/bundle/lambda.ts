// A bundled application, as AWS Lambda users ship one: esbuild puts everything in one file, so the app
// imports the backends it uses and passes them in; nothing is loaded by name at run time.

import { providerFactory as awsKms } from '@keyswitch/aws-kms';
import { Keyswitch } from '@keyswitch/core';
import { KMS_LOCAL_DEFAULT_CREDENTIALS, startKmsLocal } from '@keyswitch/kms-local';
import { providerFactory as softHsm } from '@keyswitch/soft-hsm';

const kms = await startKmsLocal({ keys: [{ alias: 'lambda-kek', spec: 'SYMMETRIC_DEFAULT' }] });
const ks = await Keyswitch.fromConfig(
  {
    environment: 'development',
    providers: {
      dev: { type: 'soft-hsm' },
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
      'pan-hmac': { provider: 'dev', ref: 'pan-hmac', spec: 'HMAC_256' },
      'pan-kek': { provider: 'kms', ref: 'alias/lambda-kek', spec: 'SYMMETRIC_DEFAULT' },
    },
  },
  { providerFactories: { 'soft-hsm': softHsm, 'aws-kms': awsKms } },
);
try {
  await (await ks.provider('dev')).createKey({
    spec: 'HMAC_256',
    usage: 'GENERATE_VERIFY_MAC',
    label: 'pan-hmac',
  });
  const pan = new TextEncoder().encode('4111111111111111');
  const tag = await ks.mac('pan-hmac').generate(pan);
  const ciphertext = await ks.encrypter('pan-kek').encrypt(pan, { context: { tenant: 't1' } });
  const plaintext = await ks.decrypter('pan-kek').decrypt(ciphertext, { context: { tenant: 't1' } });
  process.stdout.write(
    `${JSON.stringify({ macBytes: tag.length, roundTrip: new TextDecoder().decode(plaintext) === '4111111111111111' })}\n`,
  );
} finally {
  await ks.close();
  await kms.close();
}
