import { conformance, importRequestFor, type KeyImporter } from '@keyswitch/conformance';
import { KMS_LOCAL_DEFAULT_CREDENTIALS, type KmsLocalServer, startKmsLocal } from '@keyswitch/kms-local';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { AwsKmsProvider } from '../src/index.js';

// The whole conformance suite: AwsKmsProvider → the real AWS SDK over HTTP → kms-local → SoftHsm.
// What the provider knows of a key's state is trusted for a short TTL, so the check of a disable made by
// another instance waits only that long (conformance-local-verify.test.ts runs it with localVerify too).
let server: KmsLocalServer;
beforeAll(async () => {
  server = await startKmsLocal();
});
afterAll(async () => {
  await server.close();
});

// Suite-generated keys go in through KMS's own import flow (GetParametersForImport, ImportKeyMaterial).
const importKey: KeyImporter = (provider, request) => provider.importKey(importRequestFor(request));

conformance({
  describe,
  it,
  beforeAll,
  afterAll,
  importKey,
  createProvider: () =>
    AwsKmsProvider.open({
      endpoint: server.endpoint,
      region: server.region,
      credentials: { ...KMS_LOCAL_DEFAULT_CREDENTIALS },
      keyStateTtlMs: 300,
    }),
});
