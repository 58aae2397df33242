// The availability design of @keyswitch/envelope on real backends: data keys wrapped both by an AWS KMS
// key (through the real AWS SDK over HTTP to kms-local) and by a PKCS#11 key on a SoftHSM2 token made by
// the project's own script. kms-local is stopped mid-run; every record keeps decrypting through the
// PKCS#11 key, and re-wrapping drops the KMS key without touching the data. Also: a KMS key disabled by
// another client is learnt within the key-state TTL. Under CI=true a SoftHSM2 token that cannot be made is
// a failure, never a skip.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { providerFactory as awsKms } from '@keyswitch/aws-kms';
import { type AuditEvent, isKeyswitchError, Keyswitch, type KeyswitchConfigInput } from '@keyswitch/core';
import { Keyring, parseEnvelope, rewrap } from '@keyswitch/envelope';
import { KMS_LOCAL_DEFAULT_CREDENTIALS, type KmsLocalServer, startKmsLocal } from '@keyswitch/kms-local';
import { providerFactory as pkcs11 } from '@keyswitch/pkcs11';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { softHsm2Tokens } from './support/softhsm2-tokens.js';

const tokenDir = mkdtempSync(join(tmpdir(), 'keyswitch-envelope-multi-'));
const tokens = softHsm2Tokens(tokenDir, 'envelope-multi-keyring');
const context = { table: 'cards' };
let server: KmsLocalServer;
const opened: Keyswitch[] = [];

function config(endpoint: string): KeyswitchConfigInput {
  return {
    environment: 'test',
    providers: {
      kms: {
        type: 'aws-kms',
        region: 'us-east-1',
        endpoint,
        credentials: {
          accessKeyId: KMS_LOCAL_DEFAULT_CREDENTIALS.accessKeyId,
          secretAccessKey: { env: 'KMS_LOCAL_SECRET_ACCESS_KEY' },
        },
        maxAttempts: 2,
        connectionTimeoutMs: 500,
        requestTimeoutMs: 2000,
      },
      hsm: {
        type: 'pkcs11',
        profile: 'softhsm',
        module: { env: 'KEYSWITCH_SOFTHSM2_MODULE' },
        token: { label: 'keyswitch' },
        pin: { env: 'KEYSWITCH_SOFTHSM2_PIN' },
        sessions: 2,
      },
    },
    keys: {
      'pan-kek-kms': { provider: 'kms', ref: 'alias/pan-kek-multi', spec: 'SYMMETRIC_DEFAULT' },
      'pan-kek-hsm': {
        provider: 'hsm',
        ref: 'pkcs11:object=pan-kek-multi;type=secret-key',
        spec: 'SYMMETRIC_DEFAULT',
      },
    },
  };
}

async function open(events?: AuditEvent[]): Promise<Keyswitch> {
  const ks = await Keyswitch.fromConfig(config(server.endpoint), {
    providerFactories: { 'aws-kms': awsKms, pkcs11 },
    ...(events ? { onAudit: (event: AuditEvent) => events.push(event) } : {}),
  });
  opened.push(ks);
  return ks;
}

beforeAll(async () => {
  if ('skip' in tokens) return;
  Object.assign(process.env, tokens.env);
  process.env.KMS_LOCAL_SECRET_ACCESS_KEY = KMS_LOCAL_DEFAULT_CREDENTIALS.secretAccessKey;
  server = await startKmsLocal({ port: 0 });
  const ks = await open();
  await (await ks.provider('kms')).createKey({
    spec: 'SYMMETRIC_DEFAULT',
    usage: 'ENCRYPT_DECRYPT',
    label: 'pan-kek-multi',
  });
  await (await ks.provider('hsm')).createKey({
    spec: 'SYMMETRIC_DEFAULT',
    usage: 'ENCRYPT_DECRYPT',
    label: 'pan-kek-multi',
  });
});

afterAll(async () => {
  for (const ks of opened) await ks.close().catch(() => undefined);
  await server?.close();
  rmSync(tokenDir, { recursive: true, force: true });
});

describe.skipIf('skip' in tokens)('envelope multi-keyring on kms-local and SoftHSM2', () => {
  it('learns of a KMS key disabled by another client within the key-state TTL', async () => {
    const ks = await open();
    const clock = { now: Date.parse('2026-01-01T00:00:00Z') };
    const keyring = Keyring.create(ks, {
      cache: { keyStateTtlMs: 60_000 },
      clock: () => new Date(clock.now),
    });
    const cards = keyring.envelopes('pan-kek-kms');
    await cards.encrypt(new TextEncoder().encode('a'), { context });
    const elsewhere = await open(); // another process: its disable is not heard here
    await (await elsewhere.provider('kms')).disableKey('alias/pan-kek-multi');
    try {
      clock.now += 59_999;
      await cards.encrypt(new TextEncoder().encode('b'), { context }); // within the TTL
      clock.now += 1;
      const error = await cards.encrypt(new TextEncoder().encode('c'), { context }).then(
        () => undefined,
        (caught: unknown) => caught,
      );
      expect(isKeyswitchError(error, 'KEY_DISABLED')).toBe(true);
      expect(keyring.stats().cache?.entries).toBe(0);
    } finally {
      await (await elsewhere.provider('kms')).enableKey('alias/pan-kek-multi');
      await keyring.close();
    }
  });

  it.each([
    ['aws-kms through kms-local', 'pan-kek-kms', 'kms', 'alias/pan-kek-multi'],
    ['PKCS#11 on SoftHSM2', 'pan-kek-hsm', 'hsm', 'pkcs11:object=pan-kek-multi;type=secret-key'],
  ])(
    '%s: a disable through the registry drops the cached data keys at once',
    async (_, key, provider, ref) => {
      const ks = await open();
      const keyring = Keyring.create(ks);
      const cards = keyring.envelopes(key);
      const sealed = await cards.encrypt(new TextEncoder().encode('4111111111111111'), { context });
      await cards.decrypt(sealed, { context });
      expect(keyring.stats().cache?.entries).toBe(2);
      const backend = await ks.provider(provider);
      await backend.disableKey(ref);
      try {
        expect(keyring.stats().cache?.entries).toBe(0);
        const refused = await cards.encrypt(new TextEncoder().encode('x'), { context }).then(
          () => undefined,
          (caught: unknown) => caught,
        );
        expect(isKeyswitchError(refused, 'KEY_DISABLED')).toBe(true);
        const unopened = await cards.decrypt(sealed, { context }).then(
          () => undefined,
          (caught: unknown) => caught,
        );
        expect(isKeyswitchError(unopened, 'KEY_DISABLED')).toBe(true);
      } finally {
        await backend.enableKey(ref);
        await keyring.close();
      }
    },
  );

  it('keeps decrypting through the PKCS#11 key when kms-local stops mid-run; nothing is lost', async () => {
    const events: AuditEvent[] = [];
    const ks = await open(events);
    const multi = { keys: ['pan-kek-kms', 'pan-kek-hsm'], timeoutMs: 5000 };
    const writer = Keyring.create(ks, { multiKeyrings: { 'card-data': multi } });
    const records = new Map<number, { pan: string; envelope: string }>();
    for (let id = 0; id < 40; id += 1) {
      const pan = `41111111111${String(id).padStart(5, '0')}`;
      // A context per record: each has its own data key, so every decryption below needs a backend.
      const envelope = await writer
        .envelopes('card-data')
        .encryptToString(new TextEncoder().encode(pan), { context: { ...context, id: String(id) } });
      expect(parseEnvelope(envelope).wrappedKeys.map((entry) => entry.keyVersion)).toEqual(multi.keys);
      records.set(id, { pan, envelope });
    }
    await writer.close();

    const reader = Keyring.create(ks, { multiKeyrings: { 'card-data': multi }, cache: false });
    const cards = reader.envelopes('card-data');
    events.length = 0;
    const opened: string[] = [];
    for (const [id, record] of records) {
      if (id === 15) await server.close(); // the KMS Region goes away mid-run
      const plaintext = await cards.decrypt(record.envelope, { context: { ...context, id: String(id) } });
      opened.push(new TextDecoder().decode(plaintext));
    }
    expect(opened).toEqual([...records.values()].map((record) => record.pan));
    const decrypts = events.filter((event) => event.operation === 'decrypt');
    const by = (provider: string, outcome: string) =>
      decrypts.filter((event) => event.provider === provider && event.outcome === outcome).length;
    expect(by('kms', 'success')).toBe(15);
    expect(by('hsm', 'success')).toBe(25);
    expect(by('kms', 'failure')).toBe(25);
    expect(
      decrypts
        .filter((event) => event.provider === 'kms' && event.outcome === 'failure')
        .map((event) => event.errorCode),
    ).toEqual(Array(25).fill('UNAVAILABLE'));

    // New data needs every wrapping key: encryption says so, retryable, rather than losing availability.
    const refused = await cards.encrypt(new TextEncoder().encode('x'), { context }).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(isKeyswitchError(refused, 'UNAVAILABLE')).toBe(true);

    // Re-wrap drops the lost KMS key, through the PKCS#11 key, without touching the data.
    const survivor = Keyring.create(ks, {
      multiKeyrings: { 'card-data': { keys: ['pan-kek-hsm'], retired: ['pan-kek-kms'], timeoutMs: 5000 } },
    });
    for (const [id, record] of records) {
      const recordContext = { ...context, id: String(id) };
      const { envelope, changed } = await rewrap(survivor, record.envelope, { context: recordContext });
      expect(changed).toBe(true);
      const [before, after] = [parseEnvelope(record.envelope), parseEnvelope(envelope)];
      expect(after.wrappedKeys.map((entry) => entry.keyVersion)).toEqual(['pan-kek-hsm']);
      expect(Buffer.from(after.ciphertext)).toEqual(Buffer.from(before.ciphertext));
      expect(Buffer.from(after.commitment!)).toEqual(Buffer.from(before.commitment!));
      const plaintext = await survivor.envelopes('card-data').decrypt(envelope, { context: recordContext });
      expect(new TextDecoder().decode(plaintext)).toBe(record.pan);
    }
    await reader.close();
    await survivor.close();
  });
});
