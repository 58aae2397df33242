import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { runConformance } from '@keyswitch/conformance';
import { KMS_LOCAL_DEFAULT_CREDENTIALS, type KmsLocalServer, startKmsLocal } from '@keyswitch/kms-local';
import { afterEach, describe, expect, it } from 'vitest';
import { AwsKmsProvider, type AwsKmsProviderOptions } from '../src/index.js';

let server: KmsLocalServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

function open(target: KmsLocalServer, options: AwsKmsProviderOptions = {}): Promise<AwsKmsProvider> {
  return AwsKmsProvider.open({
    endpoint: target.endpoint,
    region: target.region,
    credentials: { ...KMS_LOCAL_DEFAULT_CREDENTIALS },
    ...options,
  });
}

/** The state of every key on the server, by key id, as an operator would read it. */
async function keyStates(target: KmsLocalServer): Promise<Map<string, string>> {
  const provider = await open(target);
  try {
    const states = new Map<string, string>();
    let nextToken: string | undefined;
    do {
      const page = await provider.listKeys(
        nextToken === undefined ? { limit: 100 } : { limit: 100, nextToken },
      );
      for (const key of page.keys) states.set(key.keyId, key.state);
      nextToken = page.nextToken;
    } while (nextToken !== undefined);
    return states;
  } finally {
    await provider.close();
  }
}

describe('conformance cleanup on aws-kms', () => {
  it('a run under the CreateKey delay fault leaves no key behind that is not scheduled for deletion', async () => {
    server = await startKmsLocal();
    server.setFaults({ delayRate: 0.5, delayMs: 1_500, seed: 3, operations: ['CreateKey'] });
    const target = server;
    const report = await runConformance({
      groups: ['mac'],
      createProvider: () => open(target, { requestTimeoutMs: 700 }),
    });
    expect(report.summary.failed).toBe(0);
    const states = await keyStates(target);
    expect(states.size).toBeGreaterThan(0);
    expect([...states.values()].filter((state) => state !== 'PENDING_DELETION')).toEqual([]);
    expect(report.cleanup.keys.map((key) => key.action).filter((action) => action === 'left')).toEqual([]);
  });

  it('finds a key it was never told about by its run tag, and schedules its deletion', async () => {
    server = await startKmsLocal();
    const target = server;
    // A create whose answer was lost: the key exists, tagged with the run, and nobody holds its reference.
    const client = new KMSClient({
      endpoint: target.endpoint,
      region: target.region,
      credentials: { ...KMS_LOCAL_DEFAULT_CREDENTIALS },
    });
    const { KeyMetadata } = await client
      .send(
        new CreateKeyCommand({
          KeySpec: 'HMAC_256',
          KeyUsage: 'GENERATE_VERIFY_MAC',
          Tags: [{ TagKey: 'keyswitch:conformance-run', TagValue: 'keyswitch-conformance-lostrun-mac' }],
        }),
      )
      .finally(() => client.destroy());
    const report = await runConformance({
      groups: ['mac'],
      runId: 'lostrun',
      createProvider: () => open(target),
    });
    const lost = report.cleanup.keys.find((key) => key.ref === KeyMetadata!.Arn);
    expect(lost).toMatchObject({ untracked: true, action: 'scheduled-deletion' });
    expect((await keyStates(target)).get(KeyMetadata!.KeyId!)).toBe('PENDING_DELETION');
  });
});
