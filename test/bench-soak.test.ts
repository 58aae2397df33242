import { createPublicKey, verify } from 'node:crypto';
import { AwsKmsProvider } from '@keyswitch/aws-kms';
import { KMS_LOCAL_DEFAULT_CREDENTIALS, startKmsLocal } from '@keyswitch/kms-local';
import { describe, expect, it } from 'vitest';
import { soak } from '../bench/lib/soak.mjs';

const OPERATIONS = 2_000;

describe('the bench soak (pnpm bench -- --soak N), small', () => {
  it('runs N signs on aws-kms over HTTP to kms-local, sampling RSS and heap 20 times, with no failure', async () => {
    const server = await startKmsLocal();
    const kms = await AwsKmsProvider.open({
      endpoint: server.endpoint,
      region: server.region,
      credentials: { ...KMS_LOCAL_DEFAULT_CREDENTIALS },
    });
    try {
      const { ref } = await kms.createKey({ spec: 'ECC_NIST_P256', usage: 'SIGN_VERIFY' });
      const message = Buffer.from('keyswitch soak');
      let last: Uint8Array | undefined;
      server.resetRequestCounts();
      const result = await soak({
        name: 'aws-kms',
        sign: async () => {
          last = await kms.sign({ ref, algorithm: 'ECDSA_SHA_256', message });
        },
        operations: OPERATIONS,
      });

      expect(result.failures).toEqual({});
      expect(result.operations).toBe(OPERATIONS);
      // Every sign reached kms-local: the soak counted real requests, not a short cut.
      expect(server.requests().byOperation.Sign).toBe(OPERATIONS);
      // One sample at the start, then one every twentieth of the way, the last at N.
      expect(result.samples).toHaveLength(21);
      expect(result.samples.map((sample) => sample.operations)).toEqual(
        Array.from({ length: 21 }, (_, index) => (index * OPERATIONS) / 20),
      );
      for (const sample of result.samples) {
        expect(sample.rssMB).toBeGreaterThan(0);
        expect(sample.heapMB).toBeGreaterThan(0);
        expect(sample.heapMB).toBeLessThanOrEqual(sample.rssMB);
      }
      // The signatures were real: node:crypto verifies the last one with the key's public key.
      const publicKey = createPublicKey((await kms.getPublicKey(ref)).pem());
      expect(verify('sha256', message, publicKey, Buffer.from(last!))).toBe(true);
    } finally {
      await kms.close();
      await server.close();
    }
  });
});
