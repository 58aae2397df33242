import { runConformance } from '@keyswitch/conformance';
import { KMS_LOCAL_DEFAULT_CREDENTIALS, type KmsLocalServer, startKmsLocal } from '@keyswitch/kms-local';
import { afterEach, describe, expect, it } from 'vitest';
import { AwsKmsProvider } from '../src/index.js';

let server: KmsLocalServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

function open(target: KmsLocalServer): Promise<AwsKmsProvider> {
  return AwsKmsProvider.open({
    endpoint: target.endpoint,
    region: target.region,
    credentials: { ...KMS_LOCAL_DEFAULT_CREDENTIALS },
  });
}

describe('capabilities probed per endpoint', () => {
  it('an endpoint without HMAC and key agreement: the manifest says so, found by probing, creating nothing', async () => {
    server = await startKmsLocal({ without: ['HMAC', 'KEY_AGREEMENT'] });
    const kms = await open(server);
    try {
      server.resetRequestCounts();
      const capabilities = await kms.capabilities();
      expect(server.requests().byOperation).toEqual({ GenerateMac: 1, DeriveSharedSecret: 1 });
      expect(Object.keys(capabilities.keySpecs).filter((spec) => spec.startsWith('HMAC_'))).toEqual([]);
      expect(capabilities.keySpecs.ECC_NIST_P256?.usages).toEqual(['SIGN_VERIFY']);
      expect(capabilities.algorithms).not.toContain('HMAC_SHA_256');
      expect(capabilities.notes?.join(' ')).toContain('no HMAC keys and key agreement (probed');
      // Unsupported before anything is sent: no CreateKey reaches the endpoint.
      server.resetRequestCounts();
      const refused = await kms.createKey({ spec: 'HMAC_256', usage: 'GENERATE_VERIFY_MAC' }).catch((e) => e);
      expect(refused).toMatchObject({ code: expect.stringMatching(/^UNSUPPORTED_/) });
      expect(server.requests().byOperation.CreateKey).toBeUndefined();
      // Probed once, then cached.
      await kms.capabilities();
      expect(server.requests().total).toBe(0);
    } finally {
      await kms.close();
    }
  });

  it('a full endpoint: the whole manifest, HMAC and key agreement included', async () => {
    server = await startKmsLocal();
    const kms = await open(server);
    try {
      const capabilities = await kms.capabilities();
      expect(capabilities.keySpecs.HMAC_256?.usages).toEqual(['GENERATE_VERIFY_MAC']);
      expect(capabilities.keySpecs.ECC_NIST_P256?.usages).toContain('KEY_AGREEMENT');
    } finally {
      await kms.close();
    }
  });

  it('conformance on such an endpoint: MAC and key agreement unsupported, not failed; errors and concurrency still run', async () => {
    server = await startKmsLocal({ without: ['HMAC', 'KEY_AGREEMENT'] });
    const target = server;
    const report = await runConformance({
      groups: ['mac', 'key-agreement', 'errors', 'concurrency'],
      createProvider: () => open(target),
    });
    const failed = report.results.filter((result) => result.status === 'failed');
    expect(failed.map((result) => `${result.name}: ${result.reason}`)).toEqual([]);
    const byGroup = (group: string, status: string) =>
      report.results.filter((result) => result.group === group && result.status === status).length;
    expect(byGroup('mac', 'passed')).toBe(0);
    expect(byGroup('mac', 'unsupported')).toBeGreaterThan(0);
    expect(byGroup('concurrency', 'passed')).toBeGreaterThan(0);
    expect(byGroup('errors', 'passed')).toBeGreaterThan(0);
  });
});
