// Disabled means disabled: cached data keys are dropped the moment their key-encryption key is disabled
// through this registry, and a disable made elsewhere is learnt within the key-state TTL.
import { type AuditEvent, Keyswitch, KeyswitchError } from '@keyswitch/core';
import { providerFactory } from '@keyswitch/soft-hsm';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type CacheLimits, Keyring, MAX_CACHE_BYTES, MAX_CACHE_MESSAGES } from '../src/index.js';
import { encoder, provisioned, rejection } from './support/keyswitch.js';

let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  for (const step of cleanup.reverse()) await step();
  cleanup = [];
});

async function setup(cache?: Partial<CacheLimits>): Promise<{
  ks: Keyswitch;
  events: AuditEvent[];
  keyring: Keyring;
  clock: { now: number };
}> {
  const { ks, events } = await provisioned();
  const clock = { now: Date.parse('2025-06-01T00:00:00Z') };
  const keyring = Keyring.create(ks, { ...(cache ? { cache } : {}), clock: () => new Date(clock.now) });
  cleanup.push(
    () => ks.close(),
    () => keyring.close(),
  );
  return { ks, events, keyring, clock };
}

const count = (events: AuditEvent[], operation: string) =>
  events.filter((event) => event.operation === operation).length;

describe('cache limits', () => {
  it('caps maxMessages at 2^32 and maxBytes at 2^36 - 32 (NIST SP 800-38D): larger is CONFIG_INVALID', async () => {
    const { ks } = await setup();
    for (const [field, value] of [
      ['maxMessages', 2 ** 40],
      ['maxMessages', MAX_CACHE_MESSAGES + 1],
      ['maxBytes', MAX_CACHE_BYTES + 1],
      ['maxBytes', 2 ** 40],
      ['keyStateTtlMs', -1],
      ['maxAgeMs', 1.5],
    ] as const) {
      const error = await rejection(() => Keyring.create(ks, { cache: { [field]: value } }));
      expect(error, `${field} = ${value}`).toMatchObject({ code: 'CONFIG_INVALID', path: `cache.${field}` });
    }
    const atTheLimit = Keyring.create(ks, {
      cache: { maxMessages: MAX_CACHE_MESSAGES, maxBytes: MAX_CACHE_BYTES, keyStateTtlMs: 0 },
    });
    await atTheLimit.close();
  });
});

describe('disabled means disabled', () => {
  it('a disable through the registry drops the cached data keys at once; an enable restores use', async () => {
    const { ks, events, keyring } = await setup();
    const cards = keyring.envelopes('pan-kek');
    const sealed = await cards.encrypt(encoder.encode('4111111111111111'));
    await cards.decrypt(sealed);
    expect(keyring.stats().cache?.entries).toBe(2); // one sealing key, one opening key

    await (await ks.provider('kms')).disableKey('pan-kek');
    expect(keyring.stats().cache?.entries).toBe(0);
    const refused = await rejection(cards.encrypt(encoder.encode('4111111111111111')));
    expect(refused).toMatchObject({ code: 'KEY_DISABLED', keyName: 'pan-kek' });
    expect((await rejection(cards.decrypt(sealed))).code).toBe('KEY_DISABLED'); // the backend refuses too
    const generated = count(events, 'generateDataKey');

    await (await ks.provider('kms')).enableKey('pan-kek');
    expect(Buffer.from(await cards.decrypt(sealed)).toString()).toBe('4111111111111111');
    await cards.encrypt(encoder.encode('4111111111111111'));
    expect(count(events, 'generateDataKey')).toBe(generated + 1);
  });

  it('listens to lifecycle operations only: a keyring makes no other operation build an audit event', async () => {
    const ks = await Keyswitch.fromConfig(
      {
        environment: 'test',
        providers: { kms: { type: 'soft-hsm' } },
        keys: { 'pan-kek': { provider: 'kms', ref: 'pan-kek', spec: 'SYMMETRIC_DEFAULT' } },
      },
      { providerFactories: { 'soft-hsm': providerFactory } }, // no audit listener of its own
    );
    cleanup.push(() => ks.close());
    const provider = await ks.provider('kms');
    expect(provider.audit.activeFor('encrypt')).toBe(false);
    const keyring = Keyring.create(ks);
    expect(provider.audit.activeFor('disableKey')).toBe(true);
    expect(provider.audit.activeFor('generateDataKey')).toBe(false);
    expect(provider.audit.activeFor('decrypt')).toBe(false);
    await keyring.close();
    expect(provider.audit.activeFor('disableKey')).toBe(false);
  });

  it('a disable made elsewhere is learnt within keyStateTtlMs, one describe per TTL', async () => {
    const { ks, events, keyring, clock } = await setup({ keyStateTtlMs: 30_000 });
    const cards = keyring.envelopes('pan-kek');
    const sealed = await cards.encrypt(encoder.encode('a'));
    await cards.decrypt(sealed);
    const describes = count(events, 'describeKey');
    // Another process disables the key: this registry hears nothing; only describeKey can tell.
    const provider = await ks.provider('kms');
    const describe = provider.describeKey.bind(provider);
    vi.spyOn(provider, 'describeKey').mockImplementation(async (ref, call) => ({
      ...(await describe(ref, call)),
      state: 'DISABLED',
    }));
    clock.now += 29_999;
    await cards.encrypt(encoder.encode('b')); // within the TTL: the cached key still serves
    await cards.decrypt(sealed);
    expect(count(events, 'describeKey')).toBe(describes);
    clock.now += 1;
    expect((await rejection(cards.encrypt(encoder.encode('c')))).code).toBe('KEY_DISABLED');
    expect(count(events, 'describeKey')).toBe(describes + 1);
    expect(keyring.stats().cache?.entries).toBe(0);
  });

  it('decryption from the cache re-checks the key state too', async () => {
    const { ks, keyring, clock } = await setup({ keyStateTtlMs: 1000 });
    const cards = keyring.envelopes('pan-kek');
    const sealed = await cards.encrypt(encoder.encode('a'));
    await cards.decrypt(sealed);
    const provider = await ks.provider('kms');
    const describe = provider.describeKey.bind(provider);
    vi.spyOn(provider, 'describeKey').mockImplementation(async (ref, call) => ({
      ...(await describe(ref, call)),
      state: 'DISABLED',
    }));
    // What the backend says when the key is disabled elsewhere.
    vi.spyOn(provider, 'decrypt').mockRejectedValue(
      new KeyswitchError('KEY_DISABLED', 'the key is disabled'),
    );
    clock.now += 1000;
    expect((await rejection(cards.decrypt(sealed))).code).toBe('KEY_DISABLED');
  });
});
