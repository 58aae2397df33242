import type { AuditEvent, Keyswitch } from '@keyswitch/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type CacheLimits, DEFAULT_CACHE_LIMITS, Keyring, parseEnvelope } from '../src/index.js';
import { backendCalls, encoder, provisioned } from './support/keyswitch.js';

let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  for (const step of cleanup.reverse()) await step();
  cleanup = [];
});

async function setup(
  cache?: Partial<CacheLimits> | false,
): Promise<{ ks: Keyswitch; events: AuditEvent[]; keyring: Keyring; clock: { now: number } }> {
  const { ks, events } = await provisioned();
  const clock = { now: Date.parse('2025-06-01T00:00:00Z') };
  const keyring = Keyring.create(ks, {
    ...(cache === undefined ? {} : { cache }),
    clock: () => new Date(clock.now),
  });
  cleanup.push(
    () => ks.close(),
    () => keyring.close(),
  );
  return { ks, events, keyring, clock };
}

const count = (events: AuditEvent[], operation: string) =>
  events.filter((e) => e.operation === operation).length;
const wrappedKeyOf = (sealed: Uint8Array) =>
  Buffer.from(parseEnvelope(sealed).wrappedDataKey).toString('hex');

describe('data-key caching', () => {
  it('encrypts 100,000 records with the defaults in at most 100 backend calls', async () => {
    const { events, keyring } = await setup();
    const cards = keyring.envelopes('pan-kek');
    const record = encoder.encode('4111111111111111');
    const sealed: Uint8Array[] = [];
    for (let i = 0; i < 100_000; i++)
      sealed.push(await cards.encrypt(record, { context: { table: 'cards' } }));
    const calls = backendCalls(events);
    expect(calls).toBeLessThanOrEqual(100);
    expect(calls).toBe(1 + 100_000 / DEFAULT_CACHE_LIMITS.maxMessages); // one describe, then a key per 10,000
    expect(keyring.stats().backendCalls).toBe(calls); // the package's own counter agrees with the audit trail
    expect(new Set(sealed.map(wrappedKeyOf)).size).toBe(10);
    // Decryption is cached the same way: a sample of 20,000 records costs one unwrap per data key.
    for (const envelope of sealed.slice(0, 20_000))
      await cards.decrypt(envelope, { context: { table: 'cards' } });
    expect(count(events, 'decrypt')).toBe(2);
  });

  it('honours maxMessages for encryption and decryption', async () => {
    const { events, keyring } = await setup({ maxMessages: 3 });
    const cards = keyring.envelopes('pan-kek');
    const sealed = [];
    for (let i = 0; i < 10; i++) sealed.push(await cards.encrypt(encoder.encode(`r${i}`)));
    expect(count(events, 'generateDataKey')).toBe(4);
    expect(sealed.map(wrappedKeyOf).filter((key, i, all) => all.indexOf(key) === i)).toHaveLength(4);
    for (let i = 0; i < 7; i++) await cards.decrypt(sealed[0]!);
    expect(count(events, 'decrypt')).toBe(3); // 3 + 3 + 1 uses
  });

  it('honours maxAge', async () => {
    const { events, keyring, clock } = await setup({ maxAgeMs: 60_000 });
    const cards = keyring.envelopes('pan-kek');
    const first = await cards.encrypt(encoder.encode('a'));
    clock.now += 59_999;
    const second = await cards.encrypt(encoder.encode('b'));
    clock.now += 1;
    const third = await cards.encrypt(encoder.encode('c'));
    expect(wrappedKeyOf(first)).toBe(wrappedKeyOf(second));
    expect(wrappedKeyOf(third)).not.toBe(wrappedKeyOf(second));
    expect(count(events, 'generateDataKey')).toBe(2);
    await cards.decrypt(first);
    await cards.decrypt(second);
    clock.now += 60_000;
    await cards.decrypt(first);
    expect(count(events, 'decrypt')).toBe(2);
  });

  it('honours maxBytes; a record larger than maxBytes gets a key of its own', async () => {
    const { events, keyring } = await setup({ maxBytes: 100 });
    const cards = keyring.envelopes('pan-kek');
    const forty = new Uint8Array(40);
    const a = await cards.encrypt(forty);
    const b = await cards.encrypt(forty);
    const c = await cards.encrypt(forty); // 120 bytes would exceed 100
    const big = await cards.encrypt(new Uint8Array(150));
    const d = await cards.encrypt(forty);
    expect(wrappedKeyOf(a)).toBe(wrappedKeyOf(b));
    expect(wrappedKeyOf(c)).not.toBe(wrappedKeyOf(b));
    expect(wrappedKeyOf(big)).not.toBe(wrappedKeyOf(c));
    expect(wrappedKeyOf(d)).toBe(wrappedKeyOf(c)); // the bypass left the cached key alone
    expect(count(events, 'generateDataKey')).toBe(3);
    expect(keyring.stats().cache).toMatchObject({ bypasses: 1 });
  });

  it('partitions by key, version and context; evicts the least recently used beyond capacity', async () => {
    const { events, keyring } = await setup({ capacity: 2 });
    const cards = keyring.envelopes('pan-kek');
    const t1 = await cards.encrypt(encoder.encode('x'), { context: { tenant: 't1' } });
    const t2 = await cards.encrypt(encoder.encode('x'), { context: { tenant: 't2' } });
    expect(wrappedKeyOf(t1)).not.toBe(wrappedKeyOf(t2));
    expect(wrappedKeyOf(await cards.encrypt(encoder.encode('y'), { context: { tenant: 't1' } }))).toBe(
      wrappedKeyOf(t1),
    );
    await keyring.envelopes('pan-kek-2024').encrypt(encoder.encode('x'), { context: { tenant: 't1' } });
    expect(count(events, 'generateDataKey')).toBe(3);
    // Capacity 2: t2 was the least recently used and has gone.
    await cards.encrypt(encoder.encode('z'), { context: { tenant: 't2' } });
    expect(count(events, 'generateDataKey')).toBe(4);
  });

  it('shares one backend call among concurrent misses', async () => {
    const { events, keyring } = await setup();
    const cards = keyring.envelopes('pan-kek');
    const sealed = await Promise.all(Array.from({ length: 50 }, () => cards.encrypt(encoder.encode('x'))));
    expect(new Set(sealed.map(wrappedKeyOf)).size).toBe(1);
    expect(count(events, 'generateDataKey')).toBe(1);
    await Promise.all(sealed.map((envelope) => cards.decrypt(envelope)));
    expect(count(events, 'decrypt')).toBe(1);
  });

  it('zeroes cached key material when a key reaches its limit and on close', async () => {
    const allocated: Buffer[] = [];
    const alloc = Buffer.alloc;
    vi.spyOn(Buffer, 'alloc').mockImplementation(((size: number, ...rest: never[]) => {
      const buffer = alloc(size, ...rest);
      if (size === 32 || size === 64) allocated.push(buffer);
      return buffer;
    }) as typeof Buffer.alloc);
    const { keyring } = await setup({ maxMessages: 2 });
    const cards = keyring.envelopes('pan-kek');
    const isZero = (buffer: Buffer) => buffer.every((byte) => byte === 0);
    await cards.encrypt(encoder.encode('a'));
    const cached = allocated.filter((buffer) => !isZero(buffer));
    expect(cached).toHaveLength(1); // the cache's own copy; the lease was zeroed after use
    await cards.encrypt(encoder.encode('b')); // second message: the limit, so the key is evicted
    expect(allocated.every(isZero)).toBe(true);
    const sealed = await cards.encrypt(encoder.encode('c'));
    await cards.decrypt(sealed);
    expect(allocated.filter((buffer) => !isZero(buffer))).toHaveLength(2); // one encryption, one decryption key
    await keyring.close();
    expect(allocated.length).toBeGreaterThanOrEqual(6);
    expect(allocated.every(isZero)).toBe(true);
    expect(keyring.stats().cache?.entries).toBe(0);
  });

  it('goes to the backend every time without a cache; rejects bad limits', async () => {
    const { ks, events, keyring } = await setup(false);
    const cards = keyring.envelopes('pan-kek');
    const sealed = [await cards.encrypt(encoder.encode('a')), await cards.encrypt(encoder.encode('b'))];
    await cards.decrypt(sealed[0]!);
    await cards.decrypt(sealed[0]!);
    expect(count(events, 'generateDataKey')).toBe(2);
    expect(count(events, 'decrypt')).toBe(2);
    expect(keyring.stats().cache).toBeUndefined();
    expect(() => Keyring.create(ks, { cache: { maxMessages: 0 } })).toThrow(/cache\.maxMessages/);
  });
});
