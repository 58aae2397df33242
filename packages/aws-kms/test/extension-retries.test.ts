// A KMS extension the manifest declares as changing state is sent once: the SDK does not repeat it, since a
// repeat after a lost answer would report a failure (alias taken, alias missing) for what was done. Reads
// keep the SDK's retries. kms-local throttles every request of the operations under test.
import { isKeyswitchError } from '@keyswitch/core';
import { KMS_LOCAL_DEFAULT_CREDENTIALS, type KmsLocalServer, startKmsLocal } from '@keyswitch/kms-local';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AwsKmsProvider } from '../src/index.js';

const MAX_ATTEMPTS = 3;
let server: KmsLocalServer;
let kms: AwsKmsProvider;
let keyId: string;

beforeAll(async () => {
  server = await startKmsLocal();
  kms = await AwsKmsProvider.open({
    endpoint: server.endpoint,
    region: server.region,
    credentials: { ...KMS_LOCAL_DEFAULT_CREDENTIALS },
    maxAttempts: MAX_ATTEMPTS,
    retryMode: 'standard',
  });
  keyId = (await kms.createKey({ spec: 'SYMMETRIC_DEFAULT', usage: 'ENCRYPT_DECRYPT' })).keyId;
  await kms.createAlias('alias/extension-retries', keyId);
});

afterAll(async () => {
  await kms?.close();
  await server?.close();
});

/** How many requests of `operation` reached kms-local while `call` ran, every one of them throttled. */
async function attemptsOf(operation: string, call: () => Promise<unknown>): Promise<number> {
  server.resetRequestCounts();
  server.setFaults({ throttleRate: 1, operations: [operation] });
  try {
    const error = await call().then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(isKeyswitchError(error, 'THROTTLED'), `${operation}: ${String(error)}`).toBe(true);
  } finally {
    server.setFaults(undefined);
  }
  return server.requests().byOperation[operation] ?? 0;
}

describe('AWS KMS extensions and retries', () => {
  it('sends each state-changing extension once, as its declaration says', async () => {
    const declared = (await kms.capabilities()).extensions!;
    const calls: [string, string, () => Promise<unknown>][] = [
      ['createAlias', 'CreateAlias', () => kms.createAlias('alias/extension-retries-2', keyId)],
      ['updateAlias', 'UpdateAlias', () => kms.updateAlias('alias/extension-retries', keyId)],
      ['deleteAlias', 'DeleteAlias', () => kms.deleteAlias('alias/extension-retries')],
      ['enableKeyRotation', 'EnableKeyRotation', () => kms.enableKeyRotation(keyId)],
      ['disableKeyRotation', 'DisableKeyRotation', () => kms.disableKeyRotation(keyId)],
    ];
    for (const [name, operation, call] of calls) {
      expect(declared[name as keyof typeof declared]?.changesState, name).toBe(true);
      expect(await attemptsOf(operation, call), operation).toBe(1);
    }
  });

  it('retries an extension that only reads, as the SDK retries any read', async () => {
    const declared = (await kms.capabilities()).extensions!;
    expect(declared.listAliases?.changesState).toBe(false);
    expect(declared.getKeyRotationStatus?.changesState).toBe(false);
    expect(await attemptsOf('ListAliases', () => kms.listAliases())).toBe(MAX_ATTEMPTS);
    expect(await attemptsOf('GetKeyRotationStatus', () => kms.getKeyRotationStatus(keyId))).toBe(
      MAX_ATTEMPTS,
    );
    // Nothing was lost: the alias the refused calls named is still there, on the same key.
    const { aliases } = await kms.listAliases({ ref: keyId });
    expect(aliases.map((alias) => alias.aliasName)).toEqual(['alias/extension-retries']);
  });
});
