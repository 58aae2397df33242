import { describe, expect, it } from 'vitest';
import {
  jwkThumbprint,
  type PublicJwk,
  publicKeyFromSpki,
  spkiToJwk,
  toSpki,
} from '../../src/encoding/index.js';
import { expectInvalidInput } from './support/expect-invalid-input.js';
import { EC_CURVES, nodeKey, RSA_SIZES } from './support/node-keys.js';

const ALL_SPECS = [...RSA_SIZES, ...EC_CURVES].map(({ spec }) => spec);

describe('toSpki', () => {
  it.each(ALL_SPECS)('%s: SPKI DER, PEM, JWK and JWK JSON all give node SPKI bytes', (spec) => {
    const { publicKey, spki } = nodeKey(spec);
    const pem = publicKey.export({ format: 'pem', type: 'spki' }) as string;
    const jwk = publicKey.export({ format: 'jwk' }) as PublicJwk;
    for (const input of [
      spki,
      Buffer.from(spki),
      pem,
      pem.replace(/\n/g, '\r\n'),
      jwk,
      JSON.stringify(jwk),
      `\n  ${JSON.stringify(jwk, null, 2)}\n`,
    ]) {
      const result = toSpki(input);
      expect(result).toEqual(spki);
      expect(Buffer.isBuffer(result)).toBe(false);
    }
  });

  it('refuses input that is none of the forms', () => {
    expectInvalidInput(
      () => toSpki('MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE'),
      'neither a PEM "PUBLIC KEY" block nor a JSON JWK',
    );
    expectInvalidInput(() => toSpki(''), 'neither a PEM');
    for (const value of [null, undefined, 42, true]) {
      expectInvalidInput(
        () => toSpki(value as unknown as string),
        'public key must be SPKI DER bytes, PEM text or a JWK',
      );
    }
  });

  it('refuses PEM with another label', () => {
    const pem = nodeKey('ECC_NIST_P256').privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
    const error = expectInvalidInput(() => toSpki(pem), 'PEM label is "PRIVATE KEY", expected "PUBLIC KEY"');
    expect(error.message).not.toContain(pem.split('\n')[1]);
  });

  it('refuses JSON that does not parse, without quoting it', () => {
    const text = '{"kty":"EC","d":"c2VjcmV0"';
    const error = expectInvalidInput(() => toSpki(text), 'public key JWK is not valid JSON');
    expect(error.message).not.toContain('c2VjcmV0');
    expect(error.cause).toBeUndefined();
  });

  it('refuses a private JWK as JSON', () => {
    const privateJwk = JSON.stringify(nodeKey('ECC_NIST_P256').privateKey.export({ format: 'jwk' }));
    expectInvalidInput(() => toSpki(privateJwk), 'private key material is not accepted');
  });

  it('refuses malformed SPKI bytes', () => {
    expectInvalidInput(() => toSpki(new Uint8Array([0x30, 0x00])), 'SubjectPublicKeyInfo has 0 elements');
  });
});

describe('publicKeyFromSpki', () => {
  it.each([...RSA_SIZES, ...EC_CURVES])('$spec: spec, family, PEM, JWK and thumbprint', ({ spec }) => {
    const { publicKey, spki } = nodeKey(spec);
    const key = publicKeyFromSpki(Buffer.from(spki));
    expect(key.keySpec).toBe(spec);
    expect(key.family).toBe(spec.startsWith('RSA') ? 'RSA' : 'EC');
    expect(key.spki).toEqual(spki);
    expect(Buffer.isBuffer(key.spki)).toBe(false);
    expect(key.pem()).toBe(publicKey.export({ format: 'pem', type: 'spki' }));
    expect(key.jwk()).toEqual(publicKey.export({ format: 'jwk' }));
    expect(key.thumbprint()).toBe(jwkThumbprint(spkiToJwk(spki)));
    expect(key.thumbprint()).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('cannot be changed through its input, its bytes or its JWK', () => {
    const { spki } = nodeKey('ECC_NIST_P256');
    const input = new Uint8Array(spki);
    const key = publicKeyFromSpki(input);
    const kid = key.thumbprint();
    input.fill(0);
    key.spki.fill(0);
    const jwk = key.jwk() as { x: string };
    jwk.x = 'changed';
    expect(key.spki).toEqual(spki);
    expect(key.jwk()).toEqual(spkiToJwk(spki));
    expect(key.thumbprint()).toBe(kid);
    expect(key.kid).toBe(kid);
    expect(Object.isFrozen(key)).toBe(true);
    expect(() => {
      (key as { keySpec: string }).keySpec = 'RSA_2048';
    }).toThrow(TypeError);
  });

  it('refuses what parseSpki refuses', () => {
    expectInvalidInput(() => publicKeyFromSpki(new Uint8Array(0)), 'SubjectPublicKeyInfo is empty');
  });
});
