// Multi-keyrings on two software HSMs ("kms" and "hsm" stand for two backends): every data key wrapped
// by both, decryption through whichever answers first in order, re-wrap adding and dropping keys.
import { type AuditEvent, type Keyswitch, KeyswitchError } from '@keyswitch/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Keyring, type MultiKeyringConfig, parseEnvelope, rewrap } from '../src/index.js';
import { encoder, provisioned, rejection } from './support/keyswitch.js';

let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  for (const step of cleanup.reverse()) await step();
  cleanup = [];
});

const context = { table: 'cards' };

async function setup(): Promise<{
  ks: Keyswitch;
  events: AuditEvent[];
  open: (config: MultiKeyringConfig, cache?: false) => Keyring;
}> {
  const { ks, events } = await provisioned();
  cleanup.push(() => ks.close());
  const open = (config: MultiKeyringConfig, cache?: false) => {
    const keyring = Keyring.create(ks, {
      multiKeyrings: { 'card-data': config },
      ...(cache === false ? { cache } : {}),
    });
    cleanup.push(() => keyring.close());
    return keyring;
  };
  return { ks, events, open };
}

const body = (envelope: Uint8Array | string) => {
  const { salt, commitment, iv, ciphertext, tag } = parseEnvelope(envelope);
  return Buffer.concat([salt!, commitment!, iv, ciphertext, tag]).toString('hex');
};
const opens = (events: AuditEvent[]) =>
  events.filter((event) => event.operation === 'decrypt').map((event) => event.provider);

describe('multi-keyring', () => {
  it('wraps every data key under each key; decrypts through the next when the first is disabled', async () => {
    const { ks, events, open } = await setup();
    const keyring = open({ keys: ['pan-kek', 'pan-kek-hsm'] }, false);
    const cards = keyring.envelopes('card-data');
    const sealed = await cards.encrypt(encoder.encode('4111111111111111'), { context });
    expect(parseEnvelope(sealed).wrappedKeys.map((entry) => entry.keyVersion)).toEqual([
      'pan-kek',
      'pan-kek-hsm',
    ]);
    expect(keyring.keyNames()).toContain('card-data');
    expect(keyring.keyNames()).not.toContain('pan-kek-hsm');
    events.length = 0;
    expect(Buffer.from(await cards.decrypt(sealed, { context })).toString()).toBe('4111111111111111');
    expect(opens(events)).toEqual(['kms']); // the first key answered

    await (await ks.provider('kms')).disableKey('pan-kek');
    events.length = 0;
    expect(Buffer.from(await cards.decrypt(sealed, { context })).toString()).toBe('4111111111111111');
    expect(opens(events)).toEqual(['kms', 'hsm']);
    // Encryption needs every key: an envelope with fewer copies would quietly lose availability.
    expect((await rejection(cards.encrypt(encoder.encode('x'), { context }))).code).toBe('KEY_DISABLED');

    // Both keys out: one error naming each key's code.
    await (await ks.provider('hsm')).disableKey('pan-kek-2025');
    const error = await rejection(cards.decrypt(sealed, { context }));
    expect(error).toMatchObject({ code: 'KEY_DISABLED', keyName: 'card-data' });
    expect(error.message).toMatch(
      /"pan-kek" \(kms\) KEY_DISABLED; version "pan-kek-hsm" \(hsm\) KEY_DISABLED/,
    );
  });

  it('moves on when a key does not answer within timeoutMs; a late data key is zeroed', async () => {
    const { ks, events, open } = await setup();
    const keyring = open({ keys: ['pan-kek', 'pan-kek-hsm'], timeoutMs: 50 }, false);
    const cards = keyring.envelopes('card-data');
    const sealed = await cards.encrypt(encoder.encode('4111111111111111'), { context });
    const kms = await ks.provider('kms');
    const decrypt = kms.decrypt.bind(kms);
    let late: Uint8Array | undefined;
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    // A stalled backend: the call answers only once the test lets it.
    vi.spyOn(kms, 'decrypt').mockImplementation(async (request, call) => {
      await gate;
      late = await decrypt(request, call);
      return late;
    });
    events.length = 0;
    expect(Buffer.from(await cards.decrypt(sealed, { context })).toString()).toBe('4111111111111111');
    expect(opens(events)).toEqual(['hsm']);
    release();
    await vi.waitFor(() => expect(late).toBeDefined());
    await vi.waitFor(() => expect(late!.every((byte) => byte === 0)).toBe(true));

    // Every key stalled or failing: UNAVAILABLE, retryable.
    vi.spyOn(await ks.provider('hsm'), 'decrypt').mockRejectedValue(
      new KeyswitchError('UNAVAILABLE', 'connection refused'),
    );
    const stalled = new Promise<Uint8Array>(() => undefined);
    vi.spyOn(kms, 'decrypt').mockReturnValue(stalled);
    const error = await rejection(cards.decrypt(sealed, { context }));
    expect(error).toMatchObject({ code: 'UNAVAILABLE', retryable: true });
    expect(error.message).toMatch(/did not answer|no wrapping key opened/);
  });

  it('refuses to encrypt when the key that makes the data key does not answer in time; its late key is zeroed', async () => {
    const { ks, open } = await setup();
    const keyring = open({ keys: ['pan-kek', 'pan-kek-hsm'], timeoutMs: 50 }, false);
    const cards = keyring.envelopes('card-data');
    const kms = await ks.provider('kms');
    const generate = kms.generateDataKey.bind(kms);
    let late: Uint8Array | undefined;
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    vi.spyOn(kms, 'generateDataKey').mockImplementation(async (request, call) => {
      await gate;
      const made = await generate(request, call);
      late = made.plaintext;
      return made;
    });
    const error = await rejection(cards.encrypt(encoder.encode('4111111111111111'), { context }));
    expect(error).toMatchObject({ code: 'UNAVAILABLE', retryable: true });
    expect(error.message).toMatch(/version "pan-kek" did not answer within 50 ms/);
    release();
    await vi.waitFor(() => expect(late).toBeDefined());
    await vi.waitFor(() => expect(late!.every((byte) => byte === 0)).toBe(true));
  });

  it('rewrap adds a key, then drops a retired one, without touching salt, commitment or ciphertext', async () => {
    const { events, open } = await setup();
    const one = open({ keys: ['pan-kek'] });
    const sealed = await one.envelopes('card-data').encrypt(encoder.encode('4111111111111111'), { context });
    expect((await rewrap(one, sealed, { context })).changed).toBe(false);

    const two = open({ keys: ['pan-kek', 'pan-kek-hsm'] });
    const added = await rewrap(two, sealed, { context });
    expect(added.changed).toBe(true);
    expect(parseEnvelope(added.envelope).wrappedKeys.map((entry) => entry.keyVersion)).toEqual([
      'pan-kek',
      'pan-kek-hsm',
    ]);
    expect(Buffer.from(parseEnvelope(added.envelope).wrappedDataKey)).toEqual(
      Buffer.from(parseEnvelope(sealed).wrappedDataKey),
    ); // the kept copy is kept as it was
    expect(body(added.envelope)).toBe(body(sealed));

    const moved = open({ keys: ['pan-kek-hsm'], retired: ['pan-kek'] });
    const dropped = await rewrap(moved, added.envelope, { context });
    expect(parseEnvelope(dropped.envelope).wrappedKeys.map((entry) => entry.keyVersion)).toEqual([
      'pan-kek-hsm',
    ]);
    expect(body(dropped.envelope)).toBe(body(sealed));
    events.length = 0;
    const hsmOnly = open({ keys: ['pan-kek-hsm'] }, false);
    expect(
      Buffer.from(await hsmOnly.envelopes('card-data').decrypt(dropped.envelope, { context })).toString(),
    ).toBe('4111111111111111');
    expect(opens(events)).toEqual(['hsm']);
    // An envelope with no copy under a configured key is INVALID_CIPHERTEXT, not a backend call.
    const error = await rejection(hsmOnly.envelopes('card-data').decrypt(sealed, { context }));
    expect(error.code).toBe('INVALID_CIPHERTEXT');
    expect(error.message).toMatch(/version "pan-kek", which is not configured/);
  });

  it('checks its configuration: CONFIG_INVALID naming the path', async () => {
    const { ks } = await setup();
    const cases: [unknown, string][] = [
      [{ keys: [] }, 'multiKeyrings.card-data.keys'],
      [{ keys: ['nope'] }, 'multiKeyrings.card-data.keys[0]'],
      [{ keys: ['pan-kek', 'pan-kek'] }, 'multiKeyrings.card-data'],
      [{ keys: ['pan-kek'], retired: ['pan-kek'] }, 'multiKeyrings.card-data'],
      [{ keys: ['pan-kek'], timeoutMs: 0 }, 'multiKeyrings.card-data.timeoutMs'],
    ];
    for (const [config, path] of cases) {
      const error = await rejection(() =>
        Keyring.create(ks, { multiKeyrings: { 'card-data': config as MultiKeyringConfig } }),
      );
      expect(error, JSON.stringify(config)).toMatchObject({ code: 'CONFIG_INVALID', path });
    }
    const clash = await rejection(() =>
      Keyring.create(ks, {
        versions: { 'card-data': { versions: [{ id: '1', key: 'pan-kek' }] } },
        multiKeyrings: { 'card-data': { keys: ['pan-kek-hsm'] } },
      }),
    );
    expect(clash).toMatchObject({ code: 'CONFIG_INVALID', path: 'multiKeyrings.card-data' });
  });
});
