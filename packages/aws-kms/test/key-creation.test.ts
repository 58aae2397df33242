import { KMSClient, ListKeysCommand, ListResourceTagsCommand } from '@aws-sdk/client-kms';
import { isKeyswitchError, type KeyswitchError } from '@keyswitch/core';
import { KMS_LOCAL_DEFAULT_CREDENTIALS, type KmsLocalServer, startKmsLocal } from '@keyswitch/kms-local';
import { afterEach, describe, expect, it } from 'vitest';
import { AwsKmsProvider, type AwsKmsProviderOptions } from '../src/index.js';

const TOKEN_TAG = 'keyswitch:creation-token';
const running: { server: KmsLocalServer; providers: AwsKmsProvider[] }[] = [];

async function setUp(options: AwsKmsProviderOptions) {
  const server = await startKmsLocal();
  const provider = await AwsKmsProvider.open({
    endpoint: server.endpoint,
    region: server.region,
    credentials: { ...KMS_LOCAL_DEFAULT_CREDENTIALS },
    ...options,
  });
  running.push({ server, providers: [provider] });
  return { server, provider };
}

/** Every key kms-local holds, with its creation token, read with a plain SDK client: what an operator sees. */
async function keysOnServer(server: KmsLocalServer): Promise<Map<string, string | undefined>> {
  const client = new KMSClient({
    endpoint: server.endpoint,
    region: server.region,
    credentials: { ...KMS_LOCAL_DEFAULT_CREDENTIALS },
  });
  try {
    const { Keys } = await client.send(new ListKeysCommand({ Limit: 1000 }));
    const found = new Map<string, string | undefined>();
    for (const key of Keys ?? []) {
      const { Tags } = await client.send(new ListResourceTagsCommand({ KeyId: key.KeyId! }));
      found.set(key.KeyId!, Tags?.find((tag) => tag.TagKey === TOKEN_TAG)?.TagValue);
    }
    return found;
  } finally {
    client.destroy();
  }
}

afterEach(async () => {
  for (const { server, providers } of running.splice(0)) {
    await Promise.all(providers.map((provider) => provider.close()));
    await server.close();
  }
});

describe('CreateKey is never repeated blindly', () => {
  it('every key carries a unique creation token, and CreateKey is sent once per key', async () => {
    const { server, provider } = await setUp({});
    server.setFaults({ throttleRate: 1, operations: ['CreateKey'] });
    server.resetRequestCounts();
    const throttled = await provider
      .createKey({ spec: 'ECC_NIST_P256', usage: 'SIGN_VERIFY' })
      .catch((e) => e);
    expect((throttled as KeyswitchError).code).toBe('THROTTLED');
    expect(server.requests().byOperation.CreateKey).toBe(1);
    server.setFaults(undefined);
    const one = await provider.createKey({
      spec: 'ECC_NIST_P256',
      usage: 'SIGN_VERIFY',
      tags: { team: 'acs' },
    });
    const two = await provider.createKey({ spec: 'ECC_NIST_P256', usage: 'SIGN_VERIFY' });
    expect(one.tags?.team).toBe('acs');
    expect(one.tags?.[TOKEN_TAG]).toMatch(/^[0-9a-f-]{36}$/);
    expect(two.tags?.[TOKEN_TAG]).not.toBe(one.tags?.[TOKEN_TAG]);
    const onServer = await keysOnServer(server);
    expect(onServer.get(one.keyId)).toBe(one.tags?.[TOKEN_TAG]);
    expect(onServer.get(two.keyId)).toBe(two.tags?.[TOKEN_TAG]);
  });

  it('0 orphans after 50 timed-out creates: each key is found by its token and adopted', async () => {
    const { server, provider } = await setUp({ requestTimeoutMs: 1_000, maxAttempts: 3 });
    server.setFaults({ delayRate: 1, delayMs: 3_000, operations: ['CreateKey'] });
    server.resetRequestCounts();
    const outcomes = await Promise.allSettled(
      Array.from({ length: 50 }, (_, index) =>
        provider.createKey({
          spec: 'ECC_NIST_P256',
          usage: 'SIGN_VERIFY',
          description: `timed out #${index}`,
        }),
      ),
    );
    const rejected = outcomes.filter((outcome) => outcome.status === 'rejected');
    expect(rejected.map((outcome) => String((outcome as PromiseRejectedResult).reason))).toEqual([]);
    const adopted = outcomes.map(
      (outcome) => (outcome as PromiseFulfilledResult<{ keyId: string }>).value.keyId,
    );
    expect(server.requests().byOperation.CreateKey).toBe(50);
    const onServer = await keysOnServer(server);
    expect(new Set(adopted).size).toBe(50);
    expect([...onServer.keys()].sort()).toEqual([...adopted].sort());
  });

  it('a key that appears only after the recovery window is reported by its token, not retried', async () => {
    const { server, provider } = await setUp({ requestTimeoutMs: 300, managementTimeoutMs: 800 });
    server.setFaults({ delayRate: 1, delayMs: 2_000, operations: ['CreateKey'] });
    server.resetRequestCounts();
    const error = await provider.createKey({ spec: 'ECC_NIST_P256', usage: 'SIGN_VERIFY' }).catch((e) => e);
    expect(isKeyswitchError(error)).toBe(true);
    expect({ code: error.code, retryable: error.retryable }).toEqual({
      code: 'UNAVAILABLE',
      retryable: false,
    });
    expect(error.message).toContain('was sent, but no answer came within the request timeout');
    const token = /keyswitch:creation-token=([0-9a-f-]{36})/.exec(error.message)?.[1];
    expect(token).toBeDefined();
    expect(server.requests().byOperation.CreateKey).toBe(1);
    // The delayed request lands later: the key it makes is the one the error named.
    let late: string[] = [];
    for (let tries = 0; tries < 100 && late.length === 0; tries += 1) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      late = [...(await keysOnServer(server)).values()].filter((value) => value !== undefined);
    }
    expect(late).toEqual([token]);
  });
});
