import { generateKeyPairSync } from 'node:crypto';
import {
  AuditBus,
  type AuditEvent,
  KEY_SPECS,
  type KeySpec,
  type KeyUsage,
  keySpecInfo,
} from '@keyswitch/core';
import { SoftHsm, softHsmCapabilities } from '@keyswitch/soft-hsm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectCode } from './support/errors.js';

const DAY = 86_400_000;
const message = new TextEncoder().encode('hello');
let now = new Date('2030-01-01T00:00:00Z');
const clock = () => new Date(now);

let hsm: SoftHsm;
beforeAll(async () => {
  hsm = await SoftHsm.open({ clock });
});
afterAll(() => hsm.close());

describe('capabilities', () => {
  it('declares everything, with deletion windows of 7 to 30 days', async () => {
    const capabilities = await hsm.capabilities();
    expect(capabilities).toBe(softHsmCapabilities);
    for (const spec of KEY_SPECS) {
      expect(capabilities.keySpecs[spec]).toEqual({ usages: keySpecInfo(spec).usages, create: true });
    }
    expect(capabilities.algorithms).toHaveLength(16);
    expect(Object.values(capabilities.operations).every(Boolean)).toBe(true);
    expect(capabilities.deletionWindowDays).toEqual({ min: 7, max: 30 });
  });
});

describe('creating keys', () => {
  // RSA_4096 keys are created in signing.test.ts and encryption.test.ts (once each, they are slow).
  const combinations = KEY_SPECS.filter((spec) => spec !== 'RSA_4096').flatMap((spec) =>
    keySpecInfo(spec).usages.map((usage) => ({ spec, usage })),
  );

  it.each(combinations)(
    'creates $spec for $usage, described without key material',
    async ({ spec, usage }) => {
      const label = `create-${spec}-${usage}`;
      const description = await hsm.createKey({
        spec,
        usage,
        label,
        description: 'made by a test',
        tags: { team: 'acs' },
      });
      expect(description).toMatchObject({ ref: label, aliases: [label], spec, usage, state: 'ENABLED' });
      expect(description.keyId).toMatch(
        /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
      );
      expect(description.createdAt).toEqual(now);
      expect(description.description).toBe('made by a test');
      expect(description.tags).toEqual({ team: 'acs' });
      expect(description.algorithms.length).toBeGreaterThan(0);
      expect(await hsm.describeKey(label)).toEqual(description);
      expect(await hsm.describeKey(description.keyId)).toEqual(description);
      expect(JSON.stringify(description)).not.toMatch(/PRIVATE|pkcs8|"d":/);
    },
  );

  it('a key without a label is referred to by its id', async () => {
    const description = await hsm.createKey({ spec: 'ECC_NIST_P256', usage: 'SIGN_VERIFY' });
    expect(description.ref).toBe(description.keyId);
    expect(description.aliases).toEqual([]);
    await hsm.sign({ ref: description.keyId, algorithm: 'ECDSA_SHA_256', message });
  });

  it('refuses a label in use, a label shaped like a key id, and a usage the spec does not allow', async () => {
    await hsm.createKey({ spec: 'HMAC_256', usage: 'GENERATE_VERIFY_MAC', label: 'taken' });
    const error = await expectCode(
      hsm.createKey({ spec: 'HMAC_256', usage: 'GENERATE_VERIFY_MAC', label: 'taken' }),
      'KEY_EXISTS',
    );
    expect(error.message).toMatch(/already taken/);
    await expectCode(
      hsm.createKey({
        spec: 'HMAC_256',
        usage: 'GENERATE_VERIFY_MAC',
        label: '0b4e6f2a-9d1c-4e5f-8a7b-1c2d3e4f5a6b',
      }),
      'INVALID_INPUT',
    );
    await expectCode(
      hsm.createKey({ spec: 'HMAC_256', usage: 'SIGN_VERIFY' as KeyUsage, label: 'x' }),
      'INVALID_INPUT',
    );
    await expectCode(
      hsm.createKey({ spec: 'AES_128' as KeySpec, usage: 'ENCRYPT_DECRYPT' }),
      'INVALID_INPUT',
    );
    await expectCode(
      hsm.createKey({ spec: 'HMAC_256', usage: 'GENERATE_VERIFY_MAC', tags: { a: 1 as unknown as string } }),
      'INVALID_INPUT',
    );
  });

  it('concurrent creates with one label: exactly one wins', async () => {
    const results = await Promise.allSettled(
      [1, 2, 3].map(() => hsm.createKey({ spec: 'ECC_NIST_P256', usage: 'SIGN_VERIFY', label: 'race' })),
    );
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
  });
});

describe('listing keys', () => {
  it('pages with nextToken through every key exactly once', async () => {
    const lister = await SoftHsm.open({ clock });
    const created = new Set<string>();
    for (let i = 0; i < 7; i++)
      created.add((await lister.createKey({ spec: 'HMAC_256', usage: 'GENERATE_VERIFY_MAC' })).keyId);
    const seen: string[] = [];
    let nextToken: string | undefined;
    let pages = 0;
    do {
      const page = await lister.listKeys({ limit: 3, ...(nextToken ? { nextToken } : {}) });
      seen.push(...page.keys.map((key) => key.keyId));
      nextToken = page.nextToken;
      pages++;
    } while (nextToken);
    expect(pages).toBe(3);
    expect(new Set(seen)).toEqual(created);
    expect(seen).toHaveLength(7);
    expect((await lister.listKeys()).nextToken).toBeUndefined();
    await expectCode(lister.listKeys({ nextToken: 'not-a-token' }), 'INVALID_INPUT');
    await lister.close();
  });
});

describe('lifecycle', () => {
  /** Every operation a key of each kind supports, to check they all refuse a disabled key. */
  async function makeKeys(provider: SoftHsm, prefix: string) {
    const peer = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({
      format: 'der',
      type: 'spki',
    });
    await provider.createKey({ spec: 'ECC_NIST_P256', usage: 'SIGN_VERIFY', label: `${prefix}-sign` });
    await provider.createKey({ spec: 'SYMMETRIC_DEFAULT', usage: 'ENCRYPT_DECRYPT', label: `${prefix}-aes` });
    await provider.createKey({ spec: 'HMAC_256', usage: 'GENERATE_VERIFY_MAC', label: `${prefix}-mac` });
    await provider.createKey({ spec: 'ECC_NIST_P256', usage: 'KEY_AGREEMENT', label: `${prefix}-ecdh` });
    const signature = await provider.sign({ ref: `${prefix}-sign`, algorithm: 'ECDSA_SHA_256', message });
    const ciphertext = await provider.encrypt({
      ref: `${prefix}-aes`,
      algorithm: 'SYMMETRIC_DEFAULT',
      plaintext: message,
    });
    const mac = await provider.generateMac({ ref: `${prefix}-mac`, algorithm: 'HMAC_SHA_256', message });
    await provider.getPublicKey(`${prefix}-sign`); // read once while enabled: no cache may answer later
    return {
      refs: [`${prefix}-sign`, `${prefix}-aes`, `${prefix}-mac`, `${prefix}-ecdh`],
      operations: (p: SoftHsm) => [
        () => p.sign({ ref: `${prefix}-sign`, algorithm: 'ECDSA_SHA_256', message }),
        () => p.verify({ ref: `${prefix}-sign`, algorithm: 'ECDSA_SHA_256', message, signature }),
        () => p.getPublicKey(`${prefix}-sign`),
        () => p.encrypt({ ref: `${prefix}-aes`, algorithm: 'SYMMETRIC_DEFAULT', plaintext: message }),
        () => p.decrypt({ ref: `${prefix}-aes`, algorithm: 'SYMMETRIC_DEFAULT', ciphertext }),
        () => p.generateDataKey({ ref: `${prefix}-aes` }),
        () => p.generateMac({ ref: `${prefix}-mac`, algorithm: 'HMAC_SHA_256', message }),
        () => p.verifyMac({ ref: `${prefix}-mac`, algorithm: 'HMAC_SHA_256', message, mac }),
        () => p.deriveSharedSecret({ ref: `${prefix}-ecdh`, algorithm: 'ECDH', publicKey: peer }),
      ],
    };
  }

  it('disabled keys refuse every operation with KEY_DISABLED, including getPublicKey; enabling restores them', async () => {
    const provider = await SoftHsm.open({ clock });
    const { refs, operations } = await makeKeys(provider, 'd');
    for (const ref of refs) await provider.disableKey(ref);
    for (const ref of refs) expect((await provider.describeKey(ref)).state).toBe('DISABLED');
    for (const operation of operations(provider)) await expectCode(operation(), 'KEY_DISABLED');
    await provider.disableKey('d-sign'); // idempotent, as in KMS
    for (const ref of refs) await provider.enableKey(ref);
    for (const operation of operations(provider)) await operation();
    await provider.enableKey('d-sign');
    await provider.close();
  });

  it('scheduled deletion: PENDING_DELETION with a date, KEY_DISABLED meanwhile, cancel goes back to DISABLED', async () => {
    const provider = await SoftHsm.open({ clock });
    const { refs, operations } = await makeKeys(provider, 'p');
    for (const ref of refs) {
      const date = await provider.scheduleKeyDeletion(ref, { pendingWindowDays: 7 });
      expect(date).toEqual(new Date(now.getTime() + 7 * DAY));
      const description = await provider.describeKey(ref);
      expect(description.state).toBe('PENDING_DELETION');
      expect(description.deletionDate).toEqual(date);
    }
    for (const operation of operations(provider)) await expectCode(operation(), 'KEY_DISABLED');
    await expectCode(provider.enableKey('p-sign'), 'KEY_DISABLED');
    await expectCode(provider.disableKey('p-sign'), 'KEY_DISABLED');
    await expectCode(provider.scheduleKeyDeletion('p-sign'), 'KEY_DISABLED');
    await provider.cancelKeyDeletion('p-sign');
    const cancelled = await provider.describeKey('p-sign');
    expect(cancelled.state).toBe('DISABLED');
    expect(cancelled.deletionDate).toBeUndefined();
    await expectCode(provider.cancelKeyDeletion('p-sign'), 'INVALID_INPUT');
    await expectCode(provider.sign({ ref: 'p-sign', algorithm: 'ECDSA_SHA_256', message }), 'KEY_DISABLED');
    await provider.enableKey('p-sign');
    await provider.sign({ ref: 'p-sign', algorithm: 'ECDSA_SHA_256', message });
    await provider.close();
  });

  it('the waiting period must be 7 to 30 days; 30 by default', async () => {
    const { ref } = await hsm.createKey({ spec: 'HMAC_256', usage: 'GENERATE_VERIFY_MAC' });
    for (const days of [6, 31, 7.5])
      await expectCode(hsm.scheduleKeyDeletion(ref, { pendingWindowDays: days }), 'INVALID_INPUT');
    expect(await hsm.scheduleKeyDeletion(ref)).toEqual(new Date(now.getTime() + 30 * DAY));
  });

  it('keys past their deletion date are destroyed on next access; their label is free again', async () => {
    const provider = await SoftHsm.open({ clock });
    const doomed = await provider.createKey({
      spec: 'SYMMETRIC_DEFAULT',
      usage: 'ENCRYPT_DECRYPT',
      label: 'doomed',
    });
    await provider.createKey({ spec: 'SYMMETRIC_DEFAULT', usage: 'ENCRYPT_DECRYPT', label: 'kept' });
    await provider.scheduleKeyDeletion('doomed', { pendingWindowDays: 7 });
    const saved = now;
    try {
      now = new Date(saved.getTime() + 7 * DAY - 1);
      expect((await provider.describeKey('doomed')).state).toBe('PENDING_DELETION');
      now = new Date(saved.getTime() + 7 * DAY);
      await expectCode(provider.describeKey('doomed'), 'KEY_NOT_FOUND');
      await expectCode(provider.describeKey(doomed.keyId), 'KEY_NOT_FOUND');
      await expectCode(provider.cancelKeyDeletion('doomed'), 'KEY_NOT_FOUND');
      expect((await provider.listKeys()).keys.map((key) => key.ref)).toEqual(['kept']);
      const reborn = await provider.createKey({
        spec: 'HMAC_256',
        usage: 'GENERATE_VERIFY_MAC',
        label: 'doomed',
      });
      expect(reborn.keyId).not.toBe(doomed.keyId);
    } finally {
      now = saved;
    }
    await provider.close();
  });

  it('unknown references give KEY_NOT_FOUND for every operation', async () => {
    const ref = 'missing';
    for (const operation of [
      () => hsm.describeKey(ref),
      () => hsm.enableKey(ref),
      () => hsm.disableKey(ref),
      () => hsm.scheduleKeyDeletion(ref),
      () => hsm.cancelKeyDeletion(ref),
      () => hsm.getPublicKey(ref),
      () => hsm.sign({ ref, algorithm: 'ECDSA_SHA_256', message }),
      () => hsm.encrypt({ ref, algorithm: 'SYMMETRIC_DEFAULT', plaintext: message }),
      () => hsm.generateMac({ ref, algorithm: 'HMAC_SHA_256', message }),
      () => hsm.generateDataKey({ ref }),
    ]) {
      const error = await expectCode(operation(), 'KEY_NOT_FOUND');
      expect(error.message).toContain('missing');
      expect(error.provider).toBe('soft-hsm');
    }
  });
});

describe('usage enforcement', () => {
  it('gives USAGE_MISMATCH for operations the key is not for', async () => {
    const sign = await hsm.createKey({ spec: 'RSA_2048', usage: 'SIGN_VERIFY', label: 'usage-rsa-sign' });
    const aes = await hsm.createKey({
      spec: 'SYMMETRIC_DEFAULT',
      usage: 'ENCRYPT_DECRYPT',
      label: 'usage-aes',
    });
    const mac = await hsm.createKey({ spec: 'HMAC_384', usage: 'GENERATE_VERIFY_MAC', label: 'usage-mac' });
    const ecdh = await hsm.createKey({ spec: 'ECC_NIST_P384', usage: 'KEY_AGREEMENT', label: 'usage-ecdh' });
    await expectCode(
      hsm.encrypt({ ref: sign.ref, algorithm: 'RSAES_OAEP_SHA_256', plaintext: message }),
      'USAGE_MISMATCH',
    );
    await expectCode(hsm.sign({ ref: aes.ref, algorithm: 'ECDSA_SHA_256', message }), 'USAGE_MISMATCH');
    await expectCode(hsm.generateMac({ ref: aes.ref, algorithm: 'HMAC_SHA_256', message }), 'USAGE_MISMATCH');
    await expectCode(hsm.getPublicKey(aes.ref), 'USAGE_MISMATCH');
    await expectCode(hsm.getPublicKey(mac.ref), 'USAGE_MISMATCH');
    await expectCode(
      hsm.sign({ ref: mac.ref, algorithm: 'HMAC_SHA_384' as never, message }),
      'INVALID_INPUT',
    );
    await expectCode(hsm.sign({ ref: ecdh.ref, algorithm: 'ECDSA_SHA_384', message }), 'USAGE_MISMATCH');
    await expectCode(hsm.generateDataKey({ ref: mac.ref }), 'USAGE_MISMATCH');
    // Key agreement keys do have a public key.
    expect((await hsm.getPublicKey(ecdh.ref)).keySpec).toBe('ECC_NIST_P384');
  });
});

describe('opening and closing', () => {
  it('refuses production', async () => {
    const error = await expectCode(SoftHsm.open({ environment: 'production' }), 'CONFIG_INVALID');
    expect(error.message).toContain('the software HSM is for development and tests; it refuses production');
    for (const environment of ['development', 'test', 'staging'])
      await (await SoftHsm.open({ environment })).close();
  });

  it('read-only refuses creating, importing and lifecycle changes with ACCESS_DENIED', async () => {
    const reader = await SoftHsm.open({ readOnly: true });
    expect(reader.readOnly).toBe(true);
    await expectCode(reader.createKey({ spec: 'HMAC_256', usage: 'GENERATE_VERIFY_MAC' }), 'ACCESS_DENIED');
    await expectCode(
      reader.importKey({
        label: 'x',
        usage: 'GENERATE_VERIFY_MAC',
        spec: 'HMAC_256',
        raw: new Uint8Array(32),
      }),
      'ACCESS_DENIED',
    );
    await reader.close();
  });

  it('refuses work after close with CLOSED, and close is idempotent', async () => {
    const provider = await SoftHsm.open();
    await provider.createKey({ spec: 'HMAC_256', usage: 'GENERATE_VERIFY_MAC', label: 'k' });
    const pending = provider.generateMac({ ref: 'k', algorithm: 'HMAC_SHA_256', message });
    await Promise.all([provider.close(), provider.close()]);
    expect((await pending).length).toBe(32); // work in flight finishes first
    await expectCode(provider.generateMac({ ref: 'k', algorithm: 'HMAC_SHA_256', message }), 'CLOSED');
    await expectCode(provider.cancelKeyDeletion('k'), 'CLOSED');
    await expectCode(
      provider.importKey({
        label: 'y',
        usage: 'GENERATE_VERIFY_MAC',
        spec: 'HMAC_256',
        raw: new Uint8Array(32),
      }),
      'CLOSED',
    );
  });

  it('audits operations, imports included, naming the provider', async () => {
    const audit = new AuditBus();
    const events: AuditEvent[] = [];
    audit.subscribe((event) => events.push(event));
    const provider = await SoftHsm.open({ name: 'dev', audit });
    await provider.importKey({
      label: 'imported',
      usage: 'GENERATE_VERIFY_MAC',
      spec: 'HMAC_256',
      raw: new Uint8Array(32).fill(1),
    });
    await provider.generateMac({ ref: 'imported', algorithm: 'HMAC_SHA_256', message });
    await expectCode(
      provider.importKey({
        label: 'imported',
        usage: 'GENERATE_VERIFY_MAC',
        spec: 'HMAC_256',
        raw: new Uint8Array(32),
      }),
      'KEY_EXISTS',
    );
    expect(
      events.map((event) => [
        event.operation,
        event.outcome,
        event.keyRef,
        event.provider,
        event.providerType,
      ]),
    ).toEqual([
      ['importKey', 'success', 'imported', 'dev', 'soft-hsm'],
      ['generateMac', 'success', 'imported', 'dev', 'soft-hsm'],
      ['importKey', 'failure', undefined, 'dev', 'soft-hsm'],
    ]);
    expect(events[2]!.errorCode).toBe('KEY_EXISTS');
    await provider.close();
  });
});
