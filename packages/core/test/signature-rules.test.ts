import { generateKeyPairSync, sign as nodeSign, verify as nodeVerify } from 'node:crypto';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import * as codec from '../src/encoding/ecdsa-signature.js';
import type { SignatureFormat, SigningTraits } from '../src/provider/contract.js';
import { signatureForBackend, signatureFromBackend } from '../src/provider/signature-rules.js';

// The codec's real functions, counted: the rules must convert a signature at most once.
vi.mock('../src/encoding/ecdsa-signature.js', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../src/encoding/ecdsa-signature.js')>();
  return {
    ...actual,
    ecdsaDerToP1363: vi.fn(actual.ecdsaDerToP1363),
    ecdsaP1363ToDer: vi.fn(actual.ecdsaP1363ToDer),
  };
});

const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const message = Buffer.from('signature rules');
const der = new Uint8Array(nodeSign('sha256', message, privateKey));
const p1363 = new Uint8Array(nodeSign('sha256', message, { key: privateKey, dsaEncoding: 'ieee-p1363' }));
const traits = (native: SignatureFormat): SigningTraits => ({
  ecdsaSignatureFormat: native,
  rawMessageBytes: { min: 0, max: Number.POSITIVE_INFINITY },
});
const nativeOf = { DER: der, P1363: p1363 };
const conversions = () =>
  vi.mocked(codec.ecdsaDerToP1363).mock.calls.length + vi.mocked(codec.ecdsaP1363ToDer).mock.calls.length;
const verifies = (signature: Uint8Array, format: SignatureFormat) =>
  nodeVerify(
    'sha256',
    message,
    { key: publicKey, dsaEncoding: format === 'DER' ? 'der' : 'ieee-p1363' },
    signature,
  );

beforeEach(() => {
  vi.mocked(codec.ecdsaDerToP1363).mockClear();
  vi.mocked(codec.ecdsaP1363ToDer).mockClear();
});

describe('signatureFromBackend: the signature a caller gets', () => {
  for (const native of ['DER', 'P1363'] as const) {
    for (const wanted of ['DER', 'P1363'] as const) {
      const expected = native === wanted ? 0 : 1;
      it(`native ${native}, ${wanted} asked for: ${expected} conversion(s), and node:crypto verifies it`, () => {
        const out = signatureFromBackend(
          nativeOf[native],
          'ECC_NIST_P256',
          'ECDSA_SHA_256',
          wanted,
          traits(native),
        );
        expect(conversions()).toBe(expected);
        if (native === wanted) expect(out).toBe(nativeOf[native]);
        expect(verifies(out, wanted)).toBe(true);
      });
    }
  }

  it('never converts an RSA signature', () => {
    const rsa = new Uint8Array(256).fill(1);
    expect(signatureFromBackend(rsa, 'RSA_2048', 'RSASSA_PSS_SHA_256', 'P1363', traits('P1363'))).toBe(rsa);
    expect(conversions()).toBe(0);
  });
});

describe('signatureForBackend: the signature a backend verifies', () => {
  it('P1363 given to a P1363 backend: passed as is, no conversion', () => {
    const out = signatureForBackend(p1363, 'ECC_NIST_P256', 'ECDSA_SHA_256', 'P1363', traits('P1363'));
    expect(out).toBe(p1363);
    expect(conversions()).toBe(0);
  });

  it('P1363 given to a DER backend: exactly one conversion', () => {
    const out = signatureForBackend(p1363, 'ECC_NIST_P256', 'ECDSA_SHA_256', 'P1363', traits('DER'));
    expect(conversions()).toBe(1);
    expect(verifies(out, 'DER')).toBe(true);
  });

  it('DER given to a P1363 backend: exactly one conversion', () => {
    const out = signatureForBackend(der, 'ECC_NIST_P256', 'ECDSA_SHA_256', 'DER', traits('P1363'));
    expect(conversions()).toBe(1);
    expect(verifies(out, 'P1363')).toBe(true);
  });

  it('DER given to a DER backend: passed as is; DER is parsed once, to check it is strict, and never re-encoded', () => {
    const out = signatureForBackend(der, 'ECC_NIST_P256', 'ECDSA_SHA_256', undefined, traits('DER'));
    expect(out).toBe(der);
    expect(vi.mocked(codec.ecdsaDerToP1363)).toHaveBeenCalledTimes(1);
    expect(vi.mocked(codec.ecdsaP1363ToDer)).not.toHaveBeenCalled();
    // Non-strict DER (a long-form length) is not passed on: the backend gets a signature no key verifies.
    const loose = new Uint8Array([0x30, 0x81, der[1]!, ...der.subarray(2)]);
    expect(signatureForBackend(loose, 'ECC_NIST_P256', 'ECDSA_SHA_256', 'DER', traits('DER'))).not.toEqual(
      loose,
    );
  });
});
