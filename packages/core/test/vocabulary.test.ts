import { describe, expect, it } from 'vitest';
import {
  ALGORITHMS,
  algorithmInfo,
  algorithmsFor,
  defaultAlgorithm,
  fromJoseAlgorithm,
  impliedUsage,
  isAlgorithm,
  isKeySpec,
  isKeyUsage,
  KEY_SPECS,
  KEY_USAGES,
  keySpecForCurve,
  keySpecInfo,
  toJoseAlgorithm,
} from '../src/index.js';

describe('vocabulary', () => {
  it('follows the AWS KMS spec and usage rules', () => {
    expect(algorithmsFor('ECC_NIST_P256', 'SIGN_VERIFY')).toEqual(['ECDSA_SHA_256']);
    expect(algorithmsFor('ECC_NIST_P384', 'SIGN_VERIFY')).toEqual(['ECDSA_SHA_384']);
    expect(algorithmsFor('ECC_NIST_P521', 'SIGN_VERIFY')).toEqual(['ECDSA_SHA_512']);
    expect(algorithmsFor('ECC_NIST_P521', 'KEY_AGREEMENT')).toEqual(['ECDH']);
    expect(algorithmsFor('RSA_3072', 'ENCRYPT_DECRYPT')).toEqual(['RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256']);
    expect(algorithmsFor('RSA_4096', 'SIGN_VERIFY')).toHaveLength(6);
    expect(algorithmsFor('SYMMETRIC_DEFAULT', 'ENCRYPT_DECRYPT')).toEqual(['SYMMETRIC_DEFAULT']);
    expect(algorithmsFor('HMAC_384', 'GENERATE_VERIFY_MAC')).toEqual(['HMAC_SHA_384']);
    expect(algorithmsFor('HMAC_512', 'GENERATE_VERIFY_MAC')).toEqual(['HMAC_SHA_512']);
    expect(algorithmsFor('HMAC_256', 'SIGN_VERIFY')).toEqual([]);
    expect(algorithmsFor('RSA_2048', 'KEY_AGREEMENT')).toEqual([]);
  });

  it('every algorithm is reachable from some spec and usage', () => {
    const reachable = new Set(
      KEY_SPECS.flatMap((spec) => KEY_USAGES.flatMap((usage) => algorithmsFor(spec, usage))),
    );
    expect([...reachable].sort()).toEqual([...ALGORITHMS].sort());
  });

  it('knows digest lengths, which are also PSS salt lengths', () => {
    expect(algorithmInfo('RSASSA_PSS_SHA_384')).toMatchObject({
      hash: 'sha384',
      digestBytes: 48,
      family: 'RSA_PSS',
    });
    expect(algorithmInfo('RSAES_OAEP_SHA_1')).toMatchObject({ hash: 'sha1', digestBytes: 20 });
    expect(algorithmInfo('SYMMETRIC_DEFAULT').hash).toBeUndefined();
    expect(keySpecInfo('ECC_NIST_P521')).toMatchObject({
      coordinateBytes: 66,
      curve: 'P-521',
      namedCurve: 'secp521r1',
    });
    expect(keySpecForCurve('P-256')).toBe('ECC_NIST_P256');
    expect(keySpecForCurve('P-384')).toBe('ECC_NIST_P384');
    expect(keySpecForCurve('P-521')).toBe('ECC_NIST_P521');
  });

  it('infers usages and default algorithms only where unambiguous', () => {
    expect(impliedUsage('SYMMETRIC_DEFAULT')).toBe('ENCRYPT_DECRYPT');
    expect(impliedUsage('ECC_NIST_P256')).toBeUndefined();
    expect(impliedUsage('ECC_NIST_P256', 'ECDH')).toBe('KEY_AGREEMENT');
    expect(defaultAlgorithm('HMAC_256', 'GENERATE_VERIFY_MAC')).toBe('HMAC_SHA_256');
    expect(defaultAlgorithm('RSA_2048', 'SIGN_VERIFY')).toBeUndefined();
  });

  it('maps JOSE names both ways', () => {
    for (const [jose, kms] of [
      ['PS256', 'RSASSA_PSS_SHA_256'],
      ['ES256', 'ECDSA_SHA_256'],
      ['ES512', 'ECDSA_SHA_512'],
      ['RS256', 'RSASSA_PKCS1_V1_5_SHA_256'],
      ['RSA-OAEP-256', 'RSAES_OAEP_SHA_256'],
      ['RSA-OAEP', 'RSAES_OAEP_SHA_1'],
      ['HS256', 'HMAC_SHA_256'],
    ] as const) {
      expect(fromJoseAlgorithm(jose)).toBe(kms);
      expect(toJoseAlgorithm(kms)).toBe(jose);
    }
    expect(fromJoseAlgorithm('none')).toBeUndefined();
    expect(fromJoseAlgorithm('toString')).toBeUndefined();
    expect(toJoseAlgorithm('SYMMETRIC_DEFAULT')).toBeUndefined();
  });

  it('guards names', () => {
    expect(isKeySpec('RSA_2048')).toBe(true);
    expect(isKeySpec('constructor')).toBe(false);
    expect(isAlgorithm('ECDH')).toBe(true);
    expect(isAlgorithm(3)).toBe(false);
    expect(isKeyUsage('KEY_AGREEMENT')).toBe(true);
    expect(isKeyUsage('SIGN')).toBe(false);
  });
});
