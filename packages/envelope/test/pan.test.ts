import { createHmac, randomBytes } from 'node:crypto';
import type { AuditEvent, Keyswitch } from '@keyswitch/core';
import type { SoftHsm } from '@keyswitch/soft-hsm';
import { afterEach, describe, expect, it } from 'vitest';
import { Keyring, normalizePan } from '../src/index.js';
import { provisioned, rejection } from './support/keyswitch.js';

let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const step of cleanup.reverse()) await step();
  cleanup = [];
});

/** Appends the Luhn check digit (computed here, independently of the package). */
function withCheckDigit(body: string): string {
  for (let check = 0; check <= 9; check++) {
    const candidate = body + check;
    const sum = [...candidate]
      .reverse()
      .map((c, i) => (i % 2 === 1 ? ((Number(c) * 2) % 10) + Math.floor((Number(c) * 2) / 10) : Number(c)))
      .reduce((a, b) => a + b, 0);
    if (sum % 10 === 0) return candidate;
  }
  throw new Error('unreachable');
}

const VALID = [
  '4111111111111111',
  '378282246310005',
  withCheckDigit('45301234567'),
  withCheckDigit('601100099013942412'),
];
const hmacKey = randomBytes(32);
const hmacKey2 = randomBytes(32);

async function setup(): Promise<{ ks: Keyswitch; events: AuditEvent[]; keyring: Keyring }> {
  const { ks, events } = await provisioned();
  const kms = (await ks.provider('kms')) as SoftHsm;
  await kms.importKey({
    label: 'pan-hmac-known',
    usage: 'GENERATE_VERIFY_MAC',
    spec: 'HMAC_256',
    raw: hmacKey,
  });
  await kms.importKey({
    label: 'pan-hmac-known-2',
    usage: 'GENERATE_VERIFY_MAC',
    spec: 'HMAC_256',
    raw: hmacKey2,
  });
  events.length = 0;
  const keyring = Keyring.create(ks, {
    versions: {
      'pan-lookup': {
        versions: [
          { id: 'v1', provider: 'kms', ref: 'pan-hmac-known' },
          { id: 'v2', provider: 'kms', ref: 'pan-hmac-known-2' },
        ],
      },
      'pan-lookup-v1': { versions: [{ id: 'v1', provider: 'kms', ref: 'pan-hmac-known' }] },
    },
  });
  cleanup.push(
    () => ks.close(),
    () => keyring.close(),
  );
  return { ks, events, keyring };
}

describe('normalizePan', () => {
  it('keeps the digits of valid PANs of 12 to 19 digits, dropping spaces and dashes', () => {
    expect(VALID.map((pan) => pan.length)).toEqual([16, 15, 12, 19]);
    for (const pan of VALID) expect(normalizePan(pan)).toBe(pan);
    expect(normalizePan('4111 1111-1111 1111')).toBe('4111111111111111');
    expect(normalizePan(' 3782-822463-10005 ')).toBe('378282246310005');
  });

  it('refuses invalid PANs with INVALID_INPUT, and no digit of the PAN (no digit at all) in the error', () => {
    const invalid = [
      '4111111111111112', // Luhn
      '4111111111111121', // Luhn (swapped digits)
      withCheckDigit('4111111111').slice(0, 11), // 11 digits
      withCheckDigit('4111111111111111111'), // 20 digits
      '4111.1111.1111.1111',
      '4111111111111111\n',
      '４１１１１１１１１１１１１１１１', // full-width digits
      '',
      '   ',
    ];
    for (const pan of invalid) {
      let error: unknown;
      try {
        normalizePan(pan, 'pan-hmac');
      } catch (caught) {
        error = caught;
      }
      expect(error, JSON.stringify(pan)).toMatchObject({ code: 'INVALID_INPUT', keyName: 'pan-hmac' });
      const text = `${(error as Error).message} ${JSON.stringify(error)} ${(error as Error).stack?.split('\n')[0]}`;
      expect(text).not.toMatch(/[0-9０-９]/);
    }
    expect(() => normalizePan(4111111111111111 as never)).toThrow(/must be a string/);
  });
});

describe('PanHasher', () => {
  it('computes format 2 tokens in the backend: the HMAC of label and PAN (cross-checked with node:crypto)', async () => {
    const { keyring } = await setup();
    const pans = keyring.panHasher('pan-lookup-v1');
    const v2 = (
      key: Buffer,
      pan: string,
      label = 'pan-lookup',
      encoding: 'base64url' | 'hex' = 'base64url',
    ) => createHmac('sha256', key).update(`keyswitch pan token v2\0${label}\0${pan}`).digest(encoding);
    for (const pan of VALID) expect(await pans.token(pan)).toBe(`$2$v1$${v2(hmacKey, pan)}`);
    const spaced = await pans.token('4111 1111 1111 1111');
    expect(spaced).toBe(await keyring.panHasher('pan-lookup-v1').token('4111-1111-1111-1111'));
    const hex = keyring.panHasher('pan-lookup-v1', { encoding: 'hex', versioned: false });
    expect(await hex.token(VALID[0]!)).toBe(`$2$$${v2(hmacKey, VALID[0]!, 'pan-lookup', 'hex')}`);
    // Another label is another domain: another token, which the first hasher does not accept.
    const other = keyring.panHasher('pan-lookup-v1', { label: 'loyalty-ids' });
    const otherToken = await other.token(VALID[0]!);
    expect(otherToken).toBe(`$2$v1$${v2(hmacKey, VALID[0]!, 'loyalty-ids')}`);
    expect(await pans.verify(VALID[0]!, otherToken)).toBe(false);
    expect(await other.verify(VALID[0]!, otherToken)).toBe(true);
    expect((await rejection(() => keyring.panHasher('pan-lookup-v1', { label: 'has space' }))).code).toBe(
      'INVALID_INPUT',
    );
  });

  it('format 1 tokens still verify and are looked up; the prefix says the format', async () => {
    const { keyring } = await setup();
    const legacy = keyring.panHasher('pan-lookup-v1', { format: 1 });
    const v1Token = await legacy.token(VALID[0]!);
    expect(v1Token).toBe(`v1:${createHmac('sha256', hmacKey).update(VALID[0]!).digest('base64url')}`);
    const pans = keyring.panHasher('pan-lookup-v1');
    expect(await pans.verify(VALID[0]!, v1Token)).toBe(true);
    expect(await pans.verify(VALID[1]!, v1Token)).toBe(false);
    const v2Token = await pans.token(VALID[0]!);
    expect(await pans.verify(VALID[0]!, v2Token)).toBe(true);
    // The same MAC under the other format's prefix is refused: the prefix decides what was MACed.
    expect(await pans.verify(VALID[0]!, `$2$v1$${v1Token.slice(3)}`)).toBe(false);
    expect(await pans.verify(VALID[0]!, `v1:${v2Token.slice(6)}`)).toBe(false);
    for (const malformed of ['$3$v1$abc', '$2$v1', '$2$bad id$abc', '$$v1$abc']) {
      expect(await pans.verify(VALID[0]!, malformed), malformed).toBe(false);
    }
    expect(await pans.lookupTokens(VALID[0]!)).toEqual([
      { version: 'v1', format: 2, token: v2Token },
      { version: 'v1', format: 1, token: v1Token },
    ]);
    expect(await pans.lookupTokens(VALID[0]!, { formats: [2] })).toEqual([
      { version: 'v1', format: 2, token: v2Token },
    ]);
  });

  it('refuses invalid PANs before any backend call, never echoing digits', async () => {
    const { keyring, events } = await setup();
    const pans = keyring.panHasher('pan-lookup');
    for (const call of [
      () => pans.token('4111111111111112'),
      () => pans.lookupTokens('12345'),
      () => pans.verify('4111 1111 1111 111x', 'v1:abc'),
    ]) {
      const error = await rejection(call);
      expect(error).toMatchObject({ code: 'INVALID_INPUT', keyName: 'pan-lookup' });
      expect(error.message).not.toMatch(/\d/);
    }
    expect(events).toHaveLength(0);
  });

  it('rotates: new tokens under the active version, lookups and verification under every version', async () => {
    const { keyring } = await setup();
    const old = await keyring.panHasher('pan-lookup-v1').token(VALID[0]!);
    const pans = keyring.panHasher('pan-lookup');
    const fresh = await pans.token(VALID[0]!);
    expect(fresh).toBe(
      `$2$v2$${createHmac('sha256', hmacKey2).update(`keyswitch pan token v2\0pan-lookup\0${VALID[0]!}`).digest('base64url')}`,
    );
    expect(await pans.lookupTokens(VALID[0]!, { formats: [2] })).toEqual([
      { version: 'v2', format: 2, token: fresh },
      { version: 'v1', format: 2, token: old },
    ]);
    const retired = await rejection(pans.token(VALID[0]!, { version: 'v1' }));
    expect(retired).toMatchObject({ code: 'USAGE_MISMATCH', keyName: 'pan-lookup' });
    expect(await pans.verify(VALID[0]!, old)).toBe(true);
    expect(await pans.verify(VALID[0]!, fresh)).toBe(true);
    expect(await pans.verify(VALID[1]!, fresh)).toBe(false);
    expect(await pans.verify(VALID[0]!, old.replace('$v1$', '$v2$'))).toBe(false);
    expect(await pans.verify(VALID[0]!, 'v9:abc')).toBe(false);
    expect(await pans.verify(VALID[0]!, 'v1:not base64url!')).toBe(false);
    const unversioned = keyring.panHasher('pan-lookup', { versioned: false });
    expect(await unversioned.verify(VALID[0]!, `$2$$${old.slice(6)}`)).toBe(true); // tried under each version
  });

  it('needs an HMAC key', async () => {
    const { keyring } = await setup();
    expect((await rejection(keyring.panHasher('pan-kek').token(VALID[0]!))).code).toBe('USAGE_MISMATCH');
    expect((await rejection(() => keyring.panHasher('pan-hmac', { encoding: 'base32' as never }))).code).toBe(
      'INVALID_INPUT',
    );
  });
});
