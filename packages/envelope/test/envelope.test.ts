import { randomBytes } from 'node:crypto';
import type { Keyswitch } from '@keyswitch/core';
import { afterEach, describe, expect, it } from 'vitest';
import {
  decodeEnvelopeString,
  type EnvelopeCipher,
  encodeEnvelopeString,
  Keyring,
  parseEnvelope,
} from '../src/index.js';
import { encoder, provisioned, rejection } from './support/keyswitch.js';

const context = { table: 'cards', tenant: 't1' };
let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const step of cleanup.reverse()) await step();
  cleanup = [];
});

async function setup(): Promise<{ ks: Keyswitch; keyring: Keyring; cards: EnvelopeCipher }> {
  const { ks } = await provisioned();
  const keyring = Keyring.create(ks);
  cleanup.push(
    () => ks.close(),
    () => keyring.close(),
  );
  return { ks, keyring, cards: keyring.envelopes('pan-kek') };
}

describe('envelope encryption', () => {
  it('round-trips records of any size, in binary and string form', async () => {
    const { cards } = await setup();
    for (const size of [0, 1, 4096, 1_000_000]) {
      const record = randomBytes(size);
      const sealed = await cards.encrypt(record, { context });
      expect(Buffer.from(await cards.decrypt(sealed, { context })).equals(record)).toBe(true);
      const text = await cards.encryptToString(record, { context });
      expect(text).toMatch(/^[A-Za-z0-9_-]+$/);
      expect(Buffer.from(await cards.decrypt(text, { context })).equals(record)).toBe(true);
      expect(Buffer.from(decodeEnvelopeString(encodeEnvelopeString(sealed))).equals(sealed)).toBe(true);
    }
  });

  it('lays out format 2 as the README says; the wrapped key is bound to the context (format walk)', async () => {
    const { ks, cards } = await setup();
    const record = encoder.encode('4111111111111111');
    const sealed = await cards.encrypt(record, { context });
    const envelope = parseEnvelope(sealed);
    expect(envelope).toMatchObject({
      formatVersion: 2,
      keyName: 'pan-kek',
      keyVersion: '1',
      storedContext: undefined,
    });
    // Walk the layout by hand, as the README describes it.
    const bytes = Buffer.from(sealed);
    expect(bytes.subarray(0, 6)).toEqual(Buffer.from([0x4b, 0x53, 0x45, 0x4e, 2, 0]));
    let offset = 6;
    const nameLength = bytes[offset++]!;
    expect(bytes.subarray(offset, offset + nameLength).toString()).toBe('pan-kek');
    offset += nameLength;
    expect(bytes.subarray(offset, offset + 32)).toEqual(Buffer.from(envelope.salt!));
    expect(bytes.subarray(offset + 32, offset + 64)).toEqual(Buffer.from(envelope.commitment!));
    offset += 64;
    expect(bytes[offset++]).toBe(1); // one wrapped copy
    const versionLength = bytes[offset++]!;
    expect(bytes.subarray(offset, offset + versionLength).toString()).toBe('1');
    offset += versionLength;
    const wrappedLength = bytes.readUInt16BE(offset);
    offset += 2;
    const wrapped = bytes.subarray(offset, offset + wrappedLength);
    offset += wrappedLength;
    expect(bytes.subarray(offset, offset + 12)).toEqual(Buffer.from(envelope.iv));
    expect(bytes.length - offset - 12 - 16).toBe(record.length);

    const dataKey = await (await ks.provider('kms')).decrypt({
      ref: 'pan-kek',
      algorithm: 'SYMMETRIC_DEFAULT',
      ciphertext: wrapped,
      context,
    });
    expect(dataKey).toHaveLength(32);
    // The wrapped key is bound to the context too: the backend refuses it under another.
    const provider = await ks.provider('kms');
    const wrong = await rejection(
      provider.decrypt({
        ref: 'pan-kek',
        algorithm: 'SYMMETRIC_DEFAULT',
        ciphertext: wrapped,
        context: { table: 'x' },
      }),
    );
    expect(wrong.code).toBe('INVALID_CIPHERTEXT');
    // No key material in the envelope: the data key's bytes appear nowhere in it.
    expect(bytes.includes(Buffer.from(dataKey))).toBe(false);
  });

  it('binds the context: another, or none, fails with INVALID_CIPHERTEXT naming the key', async () => {
    const { keyring, cards } = await setup();
    const sealed = await cards.encrypt(encoder.encode('record'), { context });
    for (const other of [{ table: 'cards', tenant: 't2' }, undefined]) {
      const error = await rejection(cards.decrypt(sealed, other === undefined ? {} : { context: other }));
      expect(error.code).toBe('INVALID_CIPHERTEXT');
      expect(error.keyName).toBe('pan-kek');
      expect(error.message).toContain('key "pan-kek"');
    }
    // Key order does not matter.
    expect(
      await keyring.envelopes('pan-kek').decrypt(sealed, { context: { tenant: 't1', table: 'cards' } }),
    ).toEqual(encoder.encode('record'));
  });

  it('stores the context in the header on request, still authenticated', async () => {
    const { ks } = await setup();
    const keyring = Keyring.create(ks);
    cleanup.push(() => keyring.close());
    const cards = keyring.envelopes('pan-kek', { storeContext: true });
    const sealed = await cards.encrypt(encoder.encode('record'), { context });
    expect(parseEnvelope(sealed).storedContext).toEqual(context);
    expect(Buffer.from(await cards.decrypt(sealed)).toString()).toBe('record');
    expect(Buffer.from(await cards.decrypt(sealed, { context })).toString()).toBe('record');
    expect((await rejection(cards.decrypt(sealed, { context: { table: 'cards' } }))).code).toBe(
      'INVALID_CIPHERTEXT',
    );
    // A flipped byte inside the stored context no longer authenticates.
    const tampered = Buffer.from(sealed);
    const at = tampered.indexOf(Buffer.from('tenant'));
    tampered[at] ^= 0x01;
    expect((await rejection(cards.decrypt(tampered))).code).toBe('INVALID_CIPHERTEXT');
    // A value that starts with U+FEFF (a byte-order mark) is stored and read back as it was given.
    const marked = { tenant: '\uFEFFt1' };
    const withMark = await cards.encrypt(encoder.encode('record'), { context: marked });
    expect(parseEnvelope(withMark).storedContext).toEqual(marked);
    expect(Buffer.from(await cards.decrypt(withMark)).toString()).toBe('record');
  });

  it('fails with INVALID_CIPHERTEXT for tampering in every region, and for truncation', async () => {
    const { cards } = await setup();
    const sealed = Buffer.from(await cards.encrypt(encoder.encode('a record worth protecting'), { context }));
    const envelope = parseEnvelope(sealed);
    const offsetOf = (view: Uint8Array) => view.byteOffset - envelope.tag.byteOffset + (sealed.length - 16);
    const regions: Record<string, number> = {
      magic: 0,
      'format version': 4,
      flags: 5,
      'key name length': 6,
      'key name': 7 + 3,
      salt: offsetOf(envelope.salt!) + 4,
      commitment: offsetOf(envelope.commitment!) + 31,
      'wrapped key count': offsetOf(envelope.commitment!) + 32,
      'key version': offsetOf(envelope.wrappedDataKey) - 3,
      'wrapped key length': offsetOf(envelope.wrappedDataKey) - 1,
      'wrapped key': offsetOf(envelope.wrappedDataKey) + 20,
      iv: offsetOf(envelope.iv) + 3,
      ciphertext: offsetOf(envelope.ciphertext) + 5,
      tag: sealed.length - 1,
    };
    for (const [region, offset] of Object.entries(regions)) {
      for (const mask of [0x01, 0x80]) {
        const tampered = Buffer.from(sealed);
        tampered[offset] ^= mask;
        const error = await rejection(cards.decrypt(tampered, { context }));
        expect(error.code, `${region} ^ ${mask}`).toBe('INVALID_CIPHERTEXT');
      }
    }
    for (const length of [0, 3, 6, 20, sealed.length - 17, sealed.length - 1]) {
      const error = await rejection(cards.decrypt(sealed.subarray(0, length), { context }));
      expect(error.code, `truncated to ${length}`).toBe('INVALID_CIPHERTEXT');
    }
    expect(
      (await rejection(cards.decrypt(Buffer.concat([sealed, Buffer.from([0])]), { context }))).code,
    ).toBe('INVALID_CIPHERTEXT');
    for (const text of ['', 'not base64!', `${encodeEnvelopeString(sealed)}=`]) {
      expect((await rejection(cards.decrypt(text, { context }))).code).toBe('INVALID_CIPHERTEXT');
    }
  });

  it('refuses an envelope of another key, naming both', async () => {
    const { keyring, cards } = await setup();
    const other = await keyring.envelopes('pan-kek-2024').encrypt(encoder.encode('x'));
    const error = await rejection(cards.decrypt(other));
    expect(error).toMatchObject({ code: 'INVALID_CIPHERTEXT', keyName: 'pan-kek' });
    expect(error.message).toMatch(/sealed under key "pan-kek-2024", not this key/);
  });

  it('checks arguments and backend keys: INVALID_INPUT, USAGE_MISMATCH, CONFIG_INVALID, CLOSED', async () => {
    const { keyring, cards } = await setup();
    expect((await rejection(cards.encrypt('text' as never))).code).toBe('INVALID_INPUT');
    expect((await rejection(cards.encrypt(new Uint8Array(1), { context: { a: 1 } as never }))).code).toBe(
      'INVALID_INPUT',
    );
    expect(await rejection(() => keyring.envelopes('nope'))).toMatchObject({ code: 'CONFIG_INVALID' });
    const hmac = await rejection(keyring.envelopes('pan-hmac').encrypt(new Uint8Array(1)));
    expect(hmac).toMatchObject({ code: 'USAGE_MISMATCH', keyName: 'pan-hmac' });
    await keyring.close();
    expect((await rejection(cards.encrypt(new Uint8Array(1)))).code).toBe('CLOSED');
  });
});
