import { createECDH, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  ecPointToSpki,
  parseSpki,
  rsaPublicKeyToSpki,
  unwrapEcPointOctetString,
} from '../../src/encoding/index.js';
import { der, OID } from './support/asn1.js';
import { expectInvalidInput } from './support/expect-invalid-input.js';
import { EC_CURVES, hex, nodeKey, RSA_SIZES, toHex } from './support/node-keys.js';

const P256 = nodeKey('ECC_NIST_P256');

function ecPointOf(spki: Uint8Array): Uint8Array {
  return parseSpki(spki).ec!.point;
}

function ecSpkiWith(parameters: Parameters<typeof der.seq>[0], point: Uint8Array): Uint8Array {
  return der.encode(der.seq(der.seq(der.oid(OID.ecPublicKey), parameters), der.bits(point)));
}

function rsaSpkiWith(modulus: number[] | Uint8Array, exponent: number[] | Uint8Array): Uint8Array {
  const rsaPublicKey = der.encode(der.seq(der.int(modulus), der.int(exponent)));
  return der.encode(der.seq(der.seq(der.oid(OID.rsaEncryption), der.null()), der.bits(rsaPublicKey)));
}

describe('parseSpki with node:crypto keys', () => {
  it.each(RSA_SIZES)('reads $spec', ({ spec, bits }) => {
    const { publicKey, spki } = nodeKey(spec);
    const parsed = parseSpki(spki);
    const jwk = publicKey.export({ format: 'jwk' });
    expect(parsed.keySpec).toBe(spec);
    expect(parsed.family).toBe('RSA');
    expect(parsed.ec).toBeUndefined();
    expect(parsed.spki).toEqual(spki);
    expect(parsed.rsa!.modulus.length).toBe(bits / 8);
    expect(parsed.rsa!.modulus[0]! & 0x80).toBe(0x80); // leading 0x00 of the DER INTEGER is gone
    expect(Buffer.from(parsed.rsa!.modulus).toString('base64url')).toBe(jwk.n);
    expect(Buffer.from(parsed.rsa!.publicExponent).toString('base64url')).toBe(jwk.e);
    expect(parsed.rsa!.publicExponent).toEqual(new Uint8Array([1, 0, 1]));
  });

  it.each(EC_CURVES)('reads $spec', ({ spec, curve, coordinateBytes }) => {
    const { publicKey, spki } = nodeKey(spec);
    const parsed = parseSpki(spki);
    const jwk = publicKey.export({ format: 'jwk' });
    expect(parsed.keySpec).toBe(spec);
    expect(parsed.family).toBe('EC');
    expect(parsed.rsa).toBeUndefined();
    expect(parsed.spki).toEqual(spki);
    const ec = parsed.ec!;
    expect(ec.curve).toBe(curve);
    expect(ec.x.length).toBe(coordinateBytes);
    expect(ec.y.length).toBe(coordinateBytes);
    expect(Buffer.from(ec.x).toString('base64url')).toBe(jwk.x);
    expect(Buffer.from(ec.y).toString('base64url')).toBe(jwk.y);
    expect(ec.point).toEqual(new Uint8Array([4, ...ec.x, ...ec.y]));
  });

  it('accepts a Buffer that is a view into a larger pool, and returns plain Uint8Arrays', () => {
    const pooled = Buffer.concat([Buffer.alloc(7), Buffer.from(P256.spki)]).subarray(7);
    const parsed = parseSpki(pooled);
    expect(parsed.spki).toEqual(P256.spki);
    for (const bytes of [parsed.spki, parsed.ec!.point, parsed.ec!.x, parsed.ec!.y]) {
      expect(Buffer.isBuffer(bytes)).toBe(false);
    }
  });

  it('returns copies that do not share memory with the input', () => {
    const input = new Uint8Array(P256.spki);
    const parsed = parseSpki(input);
    input.fill(0);
    expect(parsed.spki).toEqual(P256.spki);
    expect(parsed.ec!.point).toEqual(ecPointOf(P256.spki));
  });

  it('reads P-256 keys whose x or y has leading zero bytes', () => {
    const seen = { x: 0, y: 0 };
    for (let i = 0; i < 5000 && (seen.x === 0 || seen.y === 0); i++) {
      const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const spki = new Uint8Array(publicKey.export({ format: 'der', type: 'spki' }));
      const { ec } = parseSpki(spki);
      if (ec!.x[0] !== 0 && ec!.y[0] !== 0) continue;
      if (ec!.x[0] === 0) seen.x++;
      if (ec!.y[0] === 0) seen.y++;
      const jwk = publicKey.export({ format: 'jwk' });
      expect([ec!.x.length, ec!.y.length]).toEqual([32, 32]);
      expect([Buffer.from(ec!.x).toString('base64url'), Buffer.from(ec!.y).toString('base64url')]).toEqual([
        jwk.x,
        jwk.y,
      ]);
      expect(ecPointToSpki('P-256', ec!.point)).toEqual(spki);
    }
    expect(seen.x).toBeGreaterThan(0);
    expect(seen.y).toBeGreaterThan(0);
  });
});

describe('parseSpki refuses', () => {
  it('non-byte, empty, non-DER and truncated input', () => {
    expectInvalidInput(() => parseSpki('MFkw' as unknown as Uint8Array), 'must be a Uint8Array');
    expectInvalidInput(() => parseSpki(new Uint8Array(0)), 'SubjectPublicKeyInfo is empty');
    expectInvalidInput(() => parseSpki(hex('ffff')), 'SubjectPublicKeyInfo is not valid DER');
    expectInvalidInput(() => parseSpki(P256.spki.subarray(0, 40)), 'SubjectPublicKeyInfo is not valid DER');
  });

  it('trailing bytes', () => {
    expectInvalidInput(() => parseSpki(new Uint8Array([...P256.spki, 0])), 'trailing bytes');
  });

  it('deeply nested input', () => {
    const nested = hex('3010300e300c300a30083006300430023000');
    expectInvalidInput(() => parseSpki(nested), 'not valid DER');
  });

  it('a structure that is not SubjectPublicKeyInfo', () => {
    expectInvalidInput(() => parseSpki(der.encode(der.int([1]))), 'SubjectPublicKeyInfo is not a SEQUENCE');
    expectInvalidInput(
      () => parseSpki(der.encode(der.seq(der.seq(der.oid(OID.ecPublicKey))))),
      'SubjectPublicKeyInfo has 1 elements, expected 2',
    );
    expectInvalidInput(
      () => parseSpki(der.encode(der.seq(der.seq(), der.bits(ecPointOf(P256.spki))))),
      'SubjectPublicKeyInfo algorithm has 0 elements, expected 1 to 2',
    );
    expectInvalidInput(
      () => parseSpki(der.encode(der.seq(der.seq(der.null()), der.bits(ecPointOf(P256.spki))))),
      'algorithm is not an OID',
    );
    expectInvalidInput(
      () =>
        parseSpki(
          der.encode(der.seq(der.seq(der.oid(OID.ecPublicKey), der.oid(OID.p256)), der.octets(hex('04')))),
        ),
      'not a BIT STRING',
    );
    expectInvalidInput(
      () =>
        parseSpki(
          der.encode(der.seq(der.seq(der.oid(OID.ecPublicKey), der.oid(OID.p256)), der.bits(hex('0400'), 1))),
        ),
      'not a BIT STRING of whole bytes',
    );
  });

  it('BER forms: long-form lengths and non-minimal integers', () => {
    // SEQUENCE length 0x59 re-encoded in long form: 30 81 59 …
    const longForm = new Uint8Array([0x30, 0x81, ...P256.spki.subarray(1)]);
    expectInvalidInput(() => parseSpki(longForm), 'SubjectPublicKeyInfo is not DER-encoded');
    const { rsa } = parseSpki(nodeKey('RSA_2048').spki);
    const extraZero = rsaSpkiWith([0, 0, ...rsa!.modulus], [1, 0, 1]);
    expectInvalidInput(() => parseSpki(extraZero), 'SubjectPublicKeyInfo is not DER-encoded');
    const exponentZero = rsaSpkiWith([0, ...rsa!.modulus], [0, 1, 0, 1]);
    expectInvalidInput(() => parseSpki(exponentZero), 'SubjectPublicKeyInfo is not DER-encoded');
  });

  it('other algorithms, naming the OID', () => {
    const ed25519 = generateKeyPairSync('ed25519').publicKey.export({ format: 'der', type: 'spki' });
    expectInvalidInput(() => parseSpki(ed25519), 'unsupported public key algorithm 1.3.101.112');
    const pss = generateKeyPairSync('rsa-pss', { modulusLength: 2048 }).publicKey.export({
      format: 'der',
      type: 'spki',
    });
    expectInvalidInput(() => parseSpki(pss), 'unsupported public key algorithm 1.2.840.113549.1.1.10');
  });

  it('RSA keys of other sizes, naming the size', () => {
    for (const bits of [1024, 1536, 2056]) {
      const { publicKey } = generateKeyPairSync('rsa', { modulusLength: bits });
      expectInvalidInput(
        () => parseSpki(publicKey.export({ format: 'der', type: 'spki' })),
        `RSA modulus of ${bits} bits is not supported; expected 2048, 3072 or 4096`,
      );
    }
  });

  it('rsaEncryption without NULL parameters', () => {
    const { rsa } = parseSpki(nodeKey('RSA_2048').spki);
    const rsaPublicKey = der.encode(der.seq(der.int([0, ...rsa!.modulus]), der.int([1, 0, 1])));
    for (const algorithm of [
      der.seq(der.oid(OID.rsaEncryption)),
      der.seq(der.oid(OID.rsaEncryption), der.oid(OID.p256)),
    ]) {
      expectInvalidInput(
        () => parseSpki(der.encode(der.seq(algorithm, der.bits(rsaPublicKey)))),
        'rsaEncryption parameters must be NULL',
      );
    }
  });

  it('a malformed RSAPublicKey', () => {
    const { rsa } = parseSpki(nodeKey('RSA_2048').spki);
    const wrap = (inner: Uint8Array) =>
      der.encode(der.seq(der.seq(der.oid(OID.rsaEncryption), der.null()), der.bits(inner)));
    expectInvalidInput(() => parseSpki(wrap(hex('0500'))), 'RSAPublicKey is not a SEQUENCE');
    expectInvalidInput(() => parseSpki(wrap(hex('3003020101'))), 'RSAPublicKey has 1 elements, expected 2');
    expectInvalidInput(() => parseSpki(wrap(hex('30050201010500'))), 'RSA public exponent is not an INTEGER');
    expectInvalidInput(() => parseSpki(rsaSpkiWith([...rsa!.modulus], [1, 0, 1])), 'RSA modulus is negative');
    expectInvalidInput(() => parseSpki(rsaSpkiWith([], [1, 0, 1])), 'RSA modulus is an empty INTEGER');
  });

  it('EC keys with explicit or implicit parameters', () => {
    const point = ecPointOf(P256.spki);
    expectInvalidInput(() => parseSpki(ecSpkiWith(der.null(), point)), 'must be a namedCurve OID');
    expectInvalidInput(() => parseSpki(ecSpkiWith(der.seq(der.int([1])), point)), 'must be a namedCurve OID');
    const withoutParameters = der.encode(der.seq(der.seq(der.oid(OID.ecPublicKey)), der.bits(point)));
    expectInvalidInput(() => parseSpki(withoutParameters), 'must be a namedCurve OID');
  });

  it('EC keys on other curves, naming the OID', () => {
    const secp256k1 = generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).publicKey;
    expectInvalidInput(
      () => parseSpki(secp256k1.export({ format: 'der', type: 'spki' })),
      'unsupported EC curve 1.3.132.0.10; expected P-256, P-384 or P-521',
    );
  });

  it('compressed EC points', () => {
    const ecdh = createECDH('prime256v1');
    ecdh.generateKeys();
    const compressed = new Uint8Array(ecdh.getPublicKey(null, 'compressed'));
    expectInvalidInput(
      () => parseSpki(ecSpkiWith(der.oid(OID.p256), compressed)),
      'compressed EC points are not supported',
    );
  });

  it('EC points of the wrong length, form, range, or not on the curve', () => {
    const point = ecPointOf(P256.spki);
    expectInvalidInput(
      () => parseSpki(ecSpkiWith(der.oid(OID.p256), point.subarray(0, 64))),
      'must be 65 bytes, got 64',
    );
    expectInvalidInput(
      () => parseSpki(ecSpkiWith(der.oid(OID.p256), new Uint8Array(0))),
      'must be 65 bytes, got 0',
    );
    const hybrid = new Uint8Array(point);
    hybrid[0] = 0x06;
    expectInvalidInput(() => parseSpki(ecSpkiWith(der.oid(OID.p256), hybrid)), 'must be uncompressed');
    const offCurve = new Uint8Array(point);
    offCurve[64]! ^= 1;
    expectInvalidInput(() => parseSpki(ecSpkiWith(der.oid(OID.p256), offCurve)), 'EC point is not on P-256');
    const xTooBig = new Uint8Array(point);
    xTooBig.fill(0xff, 1, 33);
    expectInvalidInput(
      () => parseSpki(ecSpkiWith(der.oid(OID.p256), xTooBig)),
      'not below the P-256 field prime',
    );
    const yTooBig = new Uint8Array(point);
    yTooBig.fill(0xff, 33);
    expectInvalidInput(
      () => parseSpki(ecSpkiWith(der.oid(OID.p256), yTooBig)),
      'not below the P-256 field prime',
    );
  });

  it('never puts key bytes in the message', () => {
    const offCurve = new Uint8Array(ecPointOf(P256.spki));
    offCurve[64]! ^= 1;
    const error = expectInvalidInput(() => parseSpki(ecSpkiWith(der.oid(OID.p256), offCurve)));
    const message = error.message.toLowerCase();
    for (const encoding of ['hex', 'base64', 'base64url'] as const) {
      expect(message).not.toContain(Buffer.from(offCurve.subarray(1, 9)).toString(encoding).toLowerCase());
    }
  });
});

describe('the point check agrees with node:crypto', () => {
  it.each(EC_CURVES)('on $curve: node keys pass, altered points fail both', ({ spec, curve }) => {
    const point = ecPointOf(nodeKey(spec).spki);
    for (let bit = 0; bit < 8; bit++) {
      const altered = new Uint8Array(point);
      altered[altered.length - 1]! ^= 1 << bit;
      expectInvalidInput(() => ecPointToSpki(curve, altered), `EC point is not on ${curve}`);
      const spki = ecSpkiWith(der.oid(parseSpkiCurveOid(spec)), altered);
      expect(() => createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' })).toThrow();
    }
  });
});

function parseSpkiCurveOid(spec: string): string {
  return { ECC_NIST_P256: OID.p256, ECC_NIST_P384: '1.3.132.0.34', ECC_NIST_P521: '1.3.132.0.35' }[spec]!;
}

describe('rsaPublicKeyToSpki', () => {
  it.each(RSA_SIZES)('rebuilds node SPKI bytes exactly for $spec', ({ spec }) => {
    const { spki } = nodeKey(spec);
    const { modulus, publicExponent } = parseSpki(spki).rsa!;
    expect(rsaPublicKeyToSpki(modulus, publicExponent)).toEqual(spki);
    // with the leading zero a DER INTEGER (or some PKCS#11 tokens) would give
    expect(rsaPublicKeyToSpki(new Uint8Array([0, 0, ...modulus]), new Uint8Array([0, 1, 0, 1]))).toEqual(
      spki,
    );
    expect(rsaPublicKeyToSpki(Buffer.from(modulus), Buffer.from(publicExponent))).toEqual(spki);
  });

  it('accepts e = 3 as node does', () => {
    const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent: 3 });
    const spki = new Uint8Array(publicKey.export({ format: 'der', type: 'spki' }));
    const { rsa } = parseSpki(spki);
    expect(rsa!.publicExponent).toEqual(new Uint8Array([3]));
    expect(rsaPublicKeyToSpki(rsa!.modulus, rsa!.publicExponent)).toEqual(spki);
  });

  it('refuses bad moduli and exponents', () => {
    const { modulus } = parseSpki(nodeKey('RSA_2048').spki).rsa!;
    const e = new Uint8Array([1, 0, 1]);
    expectInvalidInput(
      () => rsaPublicKeyToSpki(modulus.subarray(1), e),
      /^RSA modulus of 20[34]\d bits is not supported/,
    );
    expectInvalidInput(
      () => rsaPublicKeyToSpki(new Uint8Array(0), e),
      'RSA modulus of 0 bits is not supported',
    );
    const even = new Uint8Array(modulus);
    even[even.length - 1]! &= 0xfe;
    expectInvalidInput(() => rsaPublicKeyToSpki(even, e), 'RSA modulus is even');
    for (const exponent of [[], [0], [1], [0, 1], [1, 0, 0], Array.from(modulus)]) {
      expectInvalidInput(
        () => rsaPublicKeyToSpki(modulus, new Uint8Array(exponent)),
        'RSA public exponent must be an odd number greater than 1',
      );
    }
    expectInvalidInput(
      () => rsaPublicKeyToSpki([1] as unknown as Uint8Array, e),
      'RSA modulus must be a Uint8Array',
    );
    expectInvalidInput(
      () => rsaPublicKeyToSpki(modulus, 65537 as unknown as Uint8Array),
      'exponent must be a Uint8Array',
    );
  });
});

describe('ecPointToSpki', () => {
  it.each(EC_CURVES)('rebuilds node SPKI bytes exactly for $curve', ({ spec, curve }) => {
    const { spki } = nodeKey(spec);
    expect(ecPointToSpki(curve, ecPointOf(spki))).toEqual(spki);
  });

  it('refuses unknown curves, compressed points and points for another curve', () => {
    const point = ecPointOf(P256.spki);
    expectInvalidInput(
      () => ecPointToSpki('P-192' as 'P-256', point),
      'unsupported EC curve; expected P-256, P-384 or P-521',
    );
    expectInvalidInput(() => ecPointToSpki('P-384', point), 'EC point for P-384 must be 97 bytes, got 65');
    const compressed = new Uint8Array(point.subarray(0, 33));
    compressed[0] = 0x03;
    expectInvalidInput(() => ecPointToSpki('P-256', compressed), 'compressed EC points are not supported');
    expectInvalidInput(
      () => ecPointToSpki('P-256', toHex(point) as unknown as Uint8Array),
      'EC point must be a Uint8Array',
    );
  });
});

describe('unwrapEcPointOctetString', () => {
  it.each(EC_CURVES)('unwraps a DER OCTET STRING and passes a raw point through on $curve', ({ spec }) => {
    const point = ecPointOf(nodeKey(spec).spki);
    const wrapped = der.encode(der.octets(point));
    if (point.length > 127)
      expect(wrapped.subarray(0, 3)).toEqual(new Uint8Array([0x04, 0x81, point.length]));
    else expect(wrapped.subarray(0, 2)).toEqual(new Uint8Array([0x04, point.length]));
    expect(unwrapEcPointOctetString(wrapped)).toEqual(point);
    expect(unwrapEcPointOctetString(Buffer.from(wrapped))).toEqual(point);
    expect(unwrapEcPointOctetString(point)).toEqual(point);
    expect(Buffer.isBuffer(unwrapEcPointOctetString(Buffer.from(point)))).toBe(false);
  });

  it('refuses compressed points, raw or wrapped', () => {
    const ecdh = createECDH('prime256v1');
    ecdh.generateKeys();
    const compressed = new Uint8Array(ecdh.getPublicKey(null, 'compressed'));
    expectInvalidInput(() => unwrapEcPointOctetString(compressed), 'compressed EC points are not supported');
    expectInvalidInput(
      () => unwrapEcPointOctetString(der.encode(der.octets(compressed))),
      'compressed EC points are not supported',
    );
  });

  it('refuses BER wrapping, trailing bytes and other shapes', () => {
    const point = ecPointOf(P256.spki);
    expectInvalidInput(
      () => unwrapEcPointOctetString(new Uint8Array([0x04, 0x81, 65, ...point])),
      'CKA_EC_POINT is not DER-encoded',
    );
    expectInvalidInput(
      () => unwrapEcPointOctetString(new Uint8Array([0x04, 65, ...point, 0])),
      'CKA_EC_POINT has trailing bytes',
    );
    expectInvalidInput(() => unwrapEcPointOctetString(hex('047f0102')), 'CKA_EC_POINT is not valid DER');
    expectInvalidInput(() => unwrapEcPointOctetString(new Uint8Array(0)), 'does not hold an uncompressed');
    expectInvalidInput(
      () => unwrapEcPointOctetString(der.encode(der.bits(point))),
      'does not hold an uncompressed',
    );
    expectInvalidInput(
      () => unwrapEcPointOctetString(der.encode(der.octets(point.subarray(0, 64)))),
      'does not hold an uncompressed',
    );
    expectInvalidInput(
      () => unwrapEcPointOctetString(der.encode(der.octets(new Uint8Array([0x05, ...point.subarray(1)])))),
      'does not hold an uncompressed',
    );
    const offCurve = new Uint8Array(point);
    offCurve[1]! ^= 1;
    expectInvalidInput(
      () => unwrapEcPointOctetString(der.encode(der.octets(offCurve))),
      'EC point is not on P-256',
    );
    expectInvalidInput(
      () => unwrapEcPointOctetString(null as unknown as Uint8Array),
      'CKA_EC_POINT must be a Uint8Array',
    );
  });
});
