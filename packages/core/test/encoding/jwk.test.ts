import { createHash, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  type EcPublicJwk,
  jwkThumbprint,
  jwkToSpki,
  type PublicJwk,
  type RsaPublicJwk,
  spkiToJwk,
} from '../../src/encoding/index.js';
import { expectInvalidInput } from './support/expect-invalid-input.js';
import { EC_CURVES, nodeKey, RSA_SIZES } from './support/node-keys.js';

const ALL_SPECS = [...RSA_SIZES, ...EC_CURVES].map(({ spec }) => spec);

/** RFC 7638 §3.1: the RSA key of RFC 7517 appendix A.1 and its SHA-256 thumbprint. */
const RFC7638_KEY = {
  kty: 'RSA',
  n:
    '0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknj' +
    'hMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qM' +
    'QvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzK' +
    'nqDKgw',
  e: 'AQAB',
  alg: 'RS256',
  kid: '2011-04-29',
} as RsaPublicJwk;
const RFC7638_THUMBPRINT = 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs';

describe('spkiToJwk and jwkToSpki against node:crypto', () => {
  it.each(ALL_SPECS)('%s: spkiToJwk equals node JWK export; jwkToSpki gives node SPKI bytes', (spec) => {
    const { publicKey, spki } = nodeKey(spec);
    const nodeJwk = publicKey.export({ format: 'jwk' });
    const jwk = spkiToJwk(spki);
    expect(jwk).toEqual(nodeJwk);
    expect(jwkToSpki(jwk)).toEqual(spki);
    expect(jwkToSpki(nodeJwk as PublicJwk)).toEqual(spki);
    // node reads our SPKI back to the same key
    const reread = createPublicKey({ key: Buffer.from(jwkToSpki(jwk)), format: 'der', type: 'spki' });
    expect(reread.equals(publicKey)).toBe(true);
  });

  it('pads EC coordinates to the full size', () => {
    for (let i = 0; i < 2000; i++) {
      const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const jwk = spkiToJwk(new Uint8Array(publicKey.export({ format: 'der', type: 'spki' }))) as EcPublicJwk;
      const x = Buffer.from(jwk.x, 'base64url');
      const y = Buffer.from(jwk.y, 'base64url');
      expect([x.length, y.length]).toEqual([32, 32]);
      if (x[0] === 0 || y[0] === 0) {
        expect(jwk).toEqual(publicKey.export({ format: 'jwk' }));
        return;
      }
    }
    throw new Error('no coordinate with a leading zero byte in 2000 keys');
  });

  it('ignores kid, use, alg and other public members', () => {
    const { spki } = nodeKey('ECC_NIST_P256');
    const jwk = { ...spkiToJwk(spki), kid: 'k1', use: 'sig', alg: 'ES256', key_ops: ['verify'] };
    expect(jwkToSpki(jwk)).toEqual(spki);
  });
});

describe('jwkToSpki refuses', () => {
  const rsa = spkiToJwk(nodeKey('RSA_2048').spki) as RsaPublicJwk;
  const ec = spkiToJwk(nodeKey('ECC_NIST_P256').spki) as EcPublicJwk;

  it.each(['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'])('a JWK carrying private member %s', (member) => {
    const error = expectInvalidInput(
      () => jwkToSpki({ ...rsa, [member]: 'c2VjcmV0LXZhbHVl' } as PublicJwk),
      'private key material is not accepted',
    );
    expect(error.message).not.toContain('c2VjcmV0LXZhbHVl');
  });

  it('a private JWK exported by node', () => {
    for (const spec of ['RSA_2048', 'ECC_NIST_P384'] as const) {
      const privateJwk = nodeKey(spec).privateKey.export({ format: 'jwk' });
      const error = expectInvalidInput(
        () => jwkToSpki(privateJwk as PublicJwk),
        'private key material is not accepted',
      );
      expect(error.message).not.toContain(privateJwk.d);
    }
  });

  it('a symmetric JWK', () => {
    expectInvalidInput(
      () => jwkToSpki({ kty: 'oct', k: 'AAAA' } as unknown as PublicJwk),
      'private key material',
    );
  });

  it.each([
    ['null', null],
    ['a string', 'RSA'],
    ['an array', [rsa]],
    ['a number', 7],
  ])('%s instead of an object', (_, value) => {
    expectInvalidInput(() => jwkToSpki(value as unknown as PublicJwk), 'JWK must be an object');
  });

  it.each([
    ['missing', {}],
    ['lowercase', { kty: 'rsa' }],
    ['OKP', { kty: 'OKP', crv: 'Ed25519', x: 'AAAA' }],
  ])('a kty that is %s', (_, value) => {
    expectInvalidInput(() => jwkToSpki(value as unknown as PublicJwk), 'JWK kty must be "RSA" or "EC"');
  });

  it('RSA members that are missing, empty, not strings or not base64url', () => {
    expectInvalidInput(
      () => jwkToSpki({ kty: 'RSA', e: rsa.e } as RsaPublicJwk),
      'JWK member n is missing or empty',
    );
    expectInvalidInput(() => jwkToSpki({ ...rsa, e: '' }), 'JWK member e is missing or empty');
    expectInvalidInput(() => jwkToSpki({ ...rsa, e: 65537 as unknown as string }), 'JWK member e is missing');
    expectInvalidInput(() => jwkToSpki({ ...rsa, n: `${rsa.n}=` }), 'JWK member n is not valid base64url');
    const base64 = Buffer.from(rsa.n, 'base64url').toString('base64').replace(/=+$/, '');
    if (base64 !== rsa.n)
      expectInvalidInput(() => jwkToSpki({ ...rsa, n: base64 }), 'JWK member n is not valid base64url');
  });

  it('RSA members with leading zero octets (RFC 7518 Base64urlUInt)', () => {
    const padded = Buffer.concat([Buffer.from([0]), Buffer.from(rsa.n, 'base64url')]).toString('base64url');
    expectInvalidInput(() => jwkToSpki({ ...rsa, n: padded }), 'must not have leading zero octets');
    expectInvalidInput(() => jwkToSpki({ ...rsa, e: 'AAEAAQ' }), 'must not have leading zero octets');
  });

  it('RSA keys of unsupported sizes, naming the size', () => {
    const short = Buffer.from(rsa.n, 'base64url').subarray(0, 128).toString('base64url');
    expectInvalidInput(() => jwkToSpki({ ...rsa, n: short }), 'RSA modulus of 1024 bits is not supported');
  });

  it('EC keys with an unknown or missing crv', () => {
    for (const crv of ['P-192', 'secp256k1', undefined, 256]) {
      expectInvalidInput(
        () => jwkToSpki({ ...ec, crv } as unknown as EcPublicJwk),
        'unsupported EC curve; expected P-256, P-384 or P-521',
      );
    }
  });

  it('EC coordinates that are missing, short, long or for another curve', () => {
    const x = Buffer.from(ec.x, 'base64url');
    expectInvalidInput(
      () => jwkToSpki({ kty: 'EC', crv: 'P-256', x: ec.x } as EcPublicJwk),
      'JWK member y is missing',
    );
    expectInvalidInput(
      () => jwkToSpki({ ...ec, x: x.subarray(1).toString('base64url') }),
      'JWK members x and y must each be 32 bytes for P-256',
    );
    expectInvalidInput(
      () => jwkToSpki({ ...ec, y: Buffer.concat([Buffer.from([0]), x]).toString('base64url') }),
      'JWK members x and y must each be 32 bytes for P-256',
    );
    expectInvalidInput(
      () => jwkToSpki({ ...ec, crv: 'P-384' }),
      'JWK members x and y must each be 48 bytes for P-384',
    );
  });

  it('EC points not on the curve', () => {
    const y = Buffer.from(ec.y, 'base64url');
    y[31]! ^= 1;
    expectInvalidInput(() => jwkToSpki({ ...ec, y: y.toString('base64url') }), 'EC point is not on P-256');
  });
});

describe('jwkThumbprint', () => {
  it('gives the RFC 7638 §3.1 example thumbprint', () => {
    expect(jwkThumbprint(RFC7638_KEY)).toBe(RFC7638_THUMBPRINT);
  });

  it('hashes only the required members, in order, for EC keys', () => {
    const { spki } = nodeKey('ECC_NIST_P256');
    const jwk = spkiToJwk(spki) as EcPublicJwk;
    const canonical = `{"crv":"P-256","kty":"EC","x":"${jwk.x}","y":"${jwk.y}"}`;
    const expected = createHash('sha256').update(canonical).digest('base64url');
    expect(jwkThumbprint({ y: jwk.y, x: jwk.x, kty: 'EC', crv: 'P-256', kid: 'x' } as EcPublicJwk)).toBe(
      expected,
    );
  });

  it('refuses what jwkToSpki refuses', () => {
    expectInvalidInput(
      () => jwkThumbprint({ ...RFC7638_KEY, d: 'AAAA' } as RsaPublicJwk),
      'private key material',
    );
    expectInvalidInput(
      () => jwkThumbprint({ ...RFC7638_KEY, n: 'AQAB' }),
      'RSA modulus of 17 bits is not supported',
    );
  });
});
