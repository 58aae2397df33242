import { type KeyObject, sign, verify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ecdsaDerToP1363, ecdsaP1363ToDer } from '../../src/encoding/index.js';
import { der } from './support/asn1.js';
import { expectInvalidInput } from './support/expect-invalid-input.js';
import { EC_CURVES, hex, nodeKey } from './support/node-keys.js';

const message = Buffer.from('keyswitch ecdsa encoding test');

function nodeSign(privateKey: KeyObject, hash: string, dsaEncoding: 'der' | 'ieee-p1363'): Uint8Array {
  return new Uint8Array(sign(hash, message, { key: privateKey, dsaEncoding }));
}

function nodeVerify(
  publicKey: KeyObject,
  hash: string,
  signature: Uint8Array,
  dsaEncoding: 'der' | 'ieee-p1363',
) {
  return verify(hash, message, { key: publicKey, dsaEncoding }, signature);
}

describe('ECDSA signature conversion against node:crypto', () => {
  it.each(EC_CURVES)('$curve: node DER → P1363 verifies, and back gives node DER bytes', (curve) => {
    const { privateKey, publicKey } = nodeKey(curve.spec);
    for (let i = 0; i < 50; i++) {
      const derSignature = nodeSign(privateKey, curve.hash, 'der');
      const raw = ecdsaDerToP1363(derSignature, curve.coordinateBytes);
      expect(raw.length).toBe(2 * curve.coordinateBytes);
      expect(Buffer.isBuffer(raw)).toBe(false);
      expect(nodeVerify(publicKey, curve.hash, raw, 'ieee-p1363')).toBe(true);
      expect(ecdsaP1363ToDer(raw)).toEqual(derSignature);
      expect(ecdsaP1363ToDer(raw, curve.coordinateBytes)).toEqual(derSignature);
    }
  });

  it.each(EC_CURVES)('$curve: node P1363 → DER verifies, and back gives node P1363 bytes', (curve) => {
    const { privateKey, publicKey } = nodeKey(curve.spec);
    for (let i = 0; i < 50; i++) {
      const raw = nodeSign(privateKey, curve.hash, 'ieee-p1363');
      const derSignature = ecdsaP1363ToDer(raw, curve.coordinateBytes);
      expect(Buffer.isBuffer(derSignature)).toBe(false);
      expect(nodeVerify(publicKey, curve.hash, derSignature, 'der')).toBe(true);
      expect(ecdsaDerToP1363(derSignature, curve.coordinateBytes)).toEqual(raw);
    }
  });

  it('P-521: the DER SEQUENCE uses a long-form length', () => {
    const { privateKey } = nodeKey('ECC_NIST_P521');
    const derSignature = ecdsaP1363ToDer(nodeSign(privateKey, 'sha512', 'ieee-p1363'), 66);
    expect(derSignature[0]).toBe(0x30);
    expect(derSignature[1]).toBe(0x81);
    expect(derSignature[2]).toBe(derSignature.length - 3);
  });

  it('P-256: r and s with leading zero bytes, and with the high bit set, round-trip byte-exact', () => {
    const { privateKey, publicKey } = nodeKey('ECC_NIST_P256');
    const seen = { rLeadingZero: 0, sLeadingZero: 0, rHighBit: 0, sHighBit: 0 };
    let signatures = 0;
    while (signatures < 8000 && (seen.rLeadingZero === 0 || seen.sLeadingZero === 0)) {
      signatures++;
      // alternate which form node produces, so both directions meet the edge cases
      const nodeForm = signatures % 2 === 0 ? 'der' : 'ieee-p1363';
      const produced = nodeSign(privateKey, 'sha256', nodeForm);
      const raw = nodeForm === 'der' ? ecdsaDerToP1363(produced, 32) : produced;
      const r = raw.subarray(0, 32);
      const s = raw.subarray(32);
      const interesting = r[0] === 0 || s[0] === 0;
      if (r[0] === 0) seen.rLeadingZero++;
      if (s[0] === 0) seen.sLeadingZero++;
      if (r[0]! & 0x80) seen.rHighBit++;
      if (s[0]! & 0x80) seen.sHighBit++;
      if (!interesting && signatures > 200) continue;
      const derSignature = nodeForm === 'der' ? produced : ecdsaP1363ToDer(produced, 32);
      // both conversions are inverse and byte-exact against what node produced
      expect(ecdsaP1363ToDer(raw, 32)).toEqual(derSignature);
      expect(ecdsaDerToP1363(derSignature, 32)).toEqual(raw);
      expect(nodeVerify(publicKey, 'sha256', derSignature, 'der')).toBe(true);
      expect(nodeVerify(publicKey, 'sha256', raw, 'ieee-p1363')).toBe(true);
      if (r[0] === 0) {
        // the DER INTEGER for r drops the zero byte (and adds one back only if the next byte's high bit is set)
        expect(derSignature[3]).toBe((r[1]! & 0x80) !== 0 ? 32 : 31);
      }
    }
    expect(seen.rLeadingZero).toBeGreaterThan(0);
    expect(seen.sLeadingZero).toBeGreaterThan(0);
    expect(seen.rHighBit).toBeGreaterThan(0);
    expect(seen.sHighBit).toBeGreaterThan(0);
  });

  it('handles small values, zero and full-width values', () => {
    const raw = new Uint8Array(64);
    raw[31] = 1;
    raw[63] = 0x80;
    expect(ecdsaP1363ToDer(raw)).toEqual(hex('3007020101020200 80'.replace(/ /g, '')));
    expect(ecdsaDerToP1363(hex('30070201010202 0080'.replace(/ /g, '')), 32)).toEqual(raw);
    expect(ecdsaP1363ToDer(new Uint8Array(64))).toEqual(hex('3006020100020100'));
    expect(ecdsaDerToP1363(hex('3006020100020100'), 32)).toEqual(new Uint8Array(64));
    const full = new Uint8Array(64).fill(0xff);
    const fullDer = ecdsaP1363ToDer(full);
    expect(fullDer.length).toBe(2 + 2 * 35);
    expect(ecdsaDerToP1363(fullDer, 32)).toEqual(full);
  });

  it('accepts a Buffer view into a larger pool', () => {
    const pooled = Buffer.concat([Buffer.alloc(3), Buffer.from(hex('3006020101020102'))]).subarray(3);
    expect(ecdsaDerToP1363(pooled, 1)).toEqual(new Uint8Array([1, 2]));
    const rawPooled = Buffer.concat([Buffer.alloc(3), Buffer.from([0, 1, 0, 2])]).subarray(3);
    expect(ecdsaP1363ToDer(rawPooled, 2)).toEqual(hex('3006020101020102'));
  });

  it('node verifies our DER of a P-384 signature with a short r', () => {
    const { privateKey, publicKey } = nodeKey('ECC_NIST_P384');
    for (let i = 0; i < 4000; i++) {
      const raw = nodeSign(privateKey, 'sha384', 'ieee-p1363');
      if (raw[0] !== 0) continue;
      expect(nodeVerify(publicKey, 'sha384', ecdsaP1363ToDer(raw, 48), 'der')).toBe(true);
      return;
    }
    throw new Error('no P-384 signature with a short r in 4000 tries');
  });
});

describe('ecdsaDerToP1363 refuses', () => {
  it.each([
    ['empty input', '', 'expected a SEQUENCE'],
    ['garbage', 'ff00', 'expected a SEQUENCE'],
    ['a truncated SEQUENCE', '3006020101', 'wrong length or trailing bytes'],
    ['trailing bytes', '30060201010201010000', 'wrong length or trailing bytes'],
    ['an INTEGER instead of a SEQUENCE', '020101', 'expected a SEQUENCE'],
    ['a SEQUENCE of one INTEGER', '3003020101', 'expected an INTEGER'],
    ['a SEQUENCE of three INTEGERs', '3009020101020101020101', 'trailing data in the SEQUENCE'],
    ['r that is not an INTEGER', '300504000201 01', 'expected an INTEGER'],
    ['s that is a BOOLEAN', '30060201010101ff', 'expected an INTEGER'],
    ['an empty INTEGER', '30050200020101', 'bad INTEGER length'],
    ['a negative r', '3006020181020101', 'negative INTEGER'],
    ['a negative s', '30060201010201ff', 'negative INTEGER'],
    ['r with a needless leading zero', '300702020001020101', 'redundant leading zero'],
    ['s with two leading zeros', '30080201010203000080', 'redundant leading zero'],
    ['a long-form SEQUENCE length', '308106020101020101', 'non-minimal length'],
    ['a long-form INTEGER length', '30070281010102 0101', 'bad INTEGER length'],
    ['an indefinite length', '30800201010201010000', 'bad SEQUENCE length'],
    ['an ENUMERATED for s', '3006020101 0a0101', 'expected an INTEGER'],
  ])('%s', (_, hexText, message) => {
    expectInvalidInput(() => ecdsaDerToP1363(hex(hexText.replace(/ /g, '')), 32), message);
  });

  it('r or s longer than the coordinate size', () => {
    const r33 = der.encode(der.seq(der.int([1, ...new Uint8Array(32)]), der.int([1])));
    expectInvalidInput(() => ecdsaDerToP1363(r33, 32), 'ECDSA signature r or s is longer than 32 bytes');
    const s33 = der.encode(der.seq(der.int([1]), der.int([0x7f, ...new Uint8Array(32)])));
    expectInvalidInput(() => ecdsaDerToP1363(s33, 32), 'ECDSA signature r or s is longer than 32 bytes');
    // a P-384 signature read as P-256
    const { privateKey } = nodeKey('ECC_NIST_P384');
    const derSignature = ecdsaP1363ToDer(nodeSign(privateKey, 'sha384', 'ieee-p1363').fill(0x11), 48);
    expectInvalidInput(() => ecdsaDerToP1363(derSignature, 32), 'longer than 32 bytes');
  });

  it('a bad coordinate size or non-byte input', () => {
    for (const size of [0, -32, 1.5, Number.NaN, '32']) {
      expectInvalidInput(
        () => ecdsaDerToP1363(hex('3006020101020101'), size as number),
        'coordinateBytes must be an integer from 1 to 127',
      );
    }
    expectInvalidInput(
      () => ecdsaDerToP1363('3006' as unknown as Uint8Array, 32),
      'ECDSA signature must be a Uint8Array',
    );
  });
});

describe('ecdsaP1363ToDer refuses', () => {
  it('empty and odd-length input', () => {
    expectInvalidInput(() => ecdsaP1363ToDer(new Uint8Array(0)), 'must have an even, non-zero length, got 0');
    expectInvalidInput(
      () => ecdsaP1363ToDer(new Uint8Array(63)),
      'must have an even, non-zero length, got 63',
    );
    expectInvalidInput(
      () => ecdsaP1363ToDer(new Uint8Array(65), 32),
      'must have an even, non-zero length, got 65',
    );
  });

  it('a length that does not match the coordinate size', () => {
    expectInvalidInput(
      () => ecdsaP1363ToDer(new Uint8Array(62), 32),
      'P1363 ECDSA signature must be 64 bytes, got 62',
    );
    expectInvalidInput(() => ecdsaP1363ToDer(new Uint8Array(96), 66), 'must be 132 bytes, got 96');
    expectInvalidInput(
      () => ecdsaP1363ToDer(new Uint8Array(64), 0),
      'coordinateBytes must be an integer from 1 to 127',
    );
  });

  it('non-byte input', () => {
    expectInvalidInput(
      () => ecdsaP1363ToDer([1, 2] as unknown as Uint8Array),
      'ECDSA signature must be a Uint8Array',
    );
  });
});
