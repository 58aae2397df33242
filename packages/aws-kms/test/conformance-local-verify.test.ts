import { runConformance } from '@keyswitch/conformance';
import { KMS_LOCAL_DEFAULT_CREDENTIALS, startKmsLocal } from '@keyswitch/kms-local';
import { describe, expect, it } from 'vitest';
import { AwsKmsProvider } from '../src/index.js';

describe('conformance with localVerify: a key disabled by another client', () => {
  it('is refused, its cached public key no longer verifying, once the key-state TTL has passed', async () => {
    const server = await startKmsLocal();
    const open = () =>
      AwsKmsProvider.open({
        endpoint: server.endpoint,
        region: server.region,
        credentials: { ...KMS_LOCAL_DEFAULT_CREDENTIALS },
        localVerify: true,
        keyStateTtlMs: 300,
      });
    try {
      const admin = await open();
      const { ref } = await admin.createKey({ spec: 'ECC_NIST_P256', usage: 'SIGN_VERIFY' });
      await admin.close();
      // The lifecycle checks of the keys group, on that key alone: nothing else is created.
      const report = await runConformance({
        createProvider: open,
        keys: { lifecycle: ref },
        groups: ['keys'],
      });
      const elsewhere = report.results.find((result) => result.name.startsWith('disableKey elsewhere'));
      expect(elsewhere?.status, JSON.stringify(elsewhere)).toBe('passed');
      expect(report.summary.failed).toBe(0);
    } finally {
      await server.close();
    }
  });
});
