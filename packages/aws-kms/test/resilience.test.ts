import { isKeyswitchError, type KeyswitchError } from '@keyswitch/core';
import { KMS_LOCAL_DEFAULT_CREDENTIALS, type KmsLocalServer, startKmsLocal } from '@keyswitch/kms-local';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AwsKmsProvider, type AwsKmsProviderOptions } from '../src/index.js';

let server: KmsLocalServer;
const opened: AwsKmsProvider[] = [];

async function open(
  options: AwsKmsProviderOptions = {},
  target: KmsLocalServer = server,
): Promise<AwsKmsProvider> {
  const provider = await AwsKmsProvider.open({
    endpoint: target.endpoint,
    region: target.region,
    credentials: { ...KMS_LOCAL_DEFAULT_CREDENTIALS },
    ...options,
  });
  opened.push(provider);
  return provider;
}

async function failure(promise: Promise<unknown>): Promise<KeyswitchError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (!isKeyswitchError(error)) throw new Error(`expected a KeyswitchError, got ${String(error)}`);
  return error;
}

beforeAll(async () => {
  server = await startKmsLocal();
});

afterAll(async () => {
  await Promise.all(opened.map((provider) => provider.close()));
  await server.close();
});

describe('throttling', () => {
  it('operations succeed through the SDK retries while a share of requests is throttled', async () => {
    const kms = await open({ maxAttempts: 6, retryMode: 'standard' });
    server.setFaults({ throttleRate: 0.3, seed: 1, operations: ['GenerateRandom'] });
    try {
      server.resetRequestCounts();
      for (let index = 0; index < 6; index += 1) expect(await kms.generateRandom(16)).toHaveLength(16);
      expect(server.requests().byOperation.GenerateRandom).toBe(8);
    } finally {
      server.setFaults(undefined);
    }
  });

  it('THROTTLED, retryable, once the retries are exhausted', async () => {
    const kms = await open({ maxAttempts: 2 });
    server.setFaults({ throttleRate: 1, operations: ['GenerateRandom'] });
    try {
      server.resetRequestCounts();
      const error = await failure(kms.generateRandom(16));
      expect({ code: error.code, retryable: error.retryable }).toEqual({
        code: 'THROTTLED',
        retryable: true,
      });
      expect((error.cause as Error).name).toBe('ThrottlingException');
      expect(server.requests().byOperation.GenerateRandom).toBe(2);
    } finally {
      server.setFaults(undefined);
    }
  });
});

describe('outages', () => {
  it('a stopped server gives UNAVAILABLE, retryable, within the timeouts and never a hang', async () => {
    const doomed = await startKmsLocal();
    const kms = await open({ maxAttempts: 2, connectionTimeoutMs: 500, requestTimeoutMs: 1000 }, doomed);
    expect(await kms.generateRandom(8)).toHaveLength(8);
    await doomed.close();
    const started = performance.now();
    const error = await failure(kms.generateRandom(8));
    expect({ code: error.code, retryable: error.retryable }).toEqual({
      code: 'UNAVAILABLE',
      retryable: true,
    });
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it('a request slower than requestTimeoutMs gives UNAVAILABLE', async () => {
    const kms = await open({ maxAttempts: 1, requestTimeoutMs: 200 });
    server.setFaults({ delayRate: 1, delayMs: 2_000, operations: ['GenerateRandom'] });
    try {
      const started = performance.now();
      const error = await failure(kms.generateRandom(8));
      expect({ code: error.code, retryable: error.retryable }).toEqual({
        code: 'UNAVAILABLE',
        retryable: true,
      });
      expect(performance.now() - started).toBeLessThan(1_500);
    } finally {
      server.setFaults(undefined);
    }
  });
});

describe('client-side rate limits', () => {
  it('paces requests of a class, and fails beyond maxWaitMs without sending', async () => {
    const paced = await open({ rateLimits: { generateRandom: 20 } });
    const started = performance.now();
    await Promise.all(Array.from({ length: 25 }, () => paced.generateRandom(1)));
    // 20 tokens at once, then 5 more at 20 a second.
    expect(performance.now() - started).toBeGreaterThanOrEqual(200);

    const strict = await open({ rateLimits: { generateRandom: 3, maxWaitMs: 0 } });
    server.resetRequestCounts();
    const outcomes = await Promise.allSettled(Array.from({ length: 5 }, () => strict.generateRandom(1)));
    expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(3);
    const refused = outcomes.find((outcome) => outcome.status === 'rejected') as PromiseRejectedResult;
    expect(refused.reason).toMatchObject({ code: 'THROTTLED', retryable: true });
    expect(server.requests().byOperation.GenerateRandom).toBe(3);
  });

  it('accepts true for the KMS default quotas', async () => {
    const kms = await open({ rateLimits: true });
    expect(await kms.generateRandom(4)).toHaveLength(4);
    await expect(open({ rateLimits: { rsa: -1 } })).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
  });
});
