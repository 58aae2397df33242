import { createPublicKey, type KeyObject, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ecdsaDerToP1363, ecdsaP1363ToDer, parseSpki, spkiToJwk } from '../../src/encoding/index.js';
import { KeyswitchError } from '../../src/errors.js';
import { hex, toHex } from './support/node-keys.js';

/** The shape of Wycheproof's ecdsa_verify_schema_v1 and ecdsa_p1363_verify_schema_v1 files. */
interface WycheproofFile {
  notes: Record<string, { bugType: string; description: string }>;
  testGroups: {
    publicKeyDer: string;
    publicKey: { uncompressed: string };
    publicKeyJwk?: Record<string, string>;
    sha: string;
    tests: { tcId: number; comment: string; flags: string[]; msg: string; sig: string; result: string }[];
  }[];
}

function load(name: string): WycheproofFile {
  return JSON.parse(readFileSync(new URL(`../fixtures/wycheproof/${name}`, import.meta.url), 'utf8'));
}

/**
 * Flags whose test vectors are encoding faults, from the file's notes: alternative BER encodings
 * (BerEncodedSignature), a missing 0x00 before a high bit (MissingZero, i.e. a negative INTEGER), and
 * non-INTEGER types for r or s (InvalidTypesInSignature). A strict DER parser must refuse every one.
 */
const MUST_REJECT = new Set(['BerEncodedSignature', 'MissingZero', 'InvalidTypesInSignature']);

/**
 * Flags that mix encoding faults with value changes ("flipped bit 0 in r", "replaced r by -r", "r of size
 * 4129", "appending 0's to r"): the parser must refuse each vector or, where the result is well-formed
 * DER of other values, node must refuse to verify it.
 */
const REJECT_OR_FAIL = new Set([
  'InvalidEncoding',
  'ModifiedSignature',
  'ModifiedInteger',
  'IntegerOverflow',
]);

function tryConvert(convert: () => Uint8Array): Uint8Array | KeyswitchError {
  try {
    return convert();
  } catch (error) {
    if (error instanceof KeyswitchError && error.code === 'INVALID_INPUT') return error;
    throw error;
  }
}

function nodeKeyOf(publicKeyDer: string): KeyObject {
  return createPublicKey({ key: Buffer.from(publicKeyDer, 'hex'), format: 'der', type: 'spki' });
}

function nodeVerifies(
  key: KeyObject,
  sha: string,
  msg: string,
  sig: Uint8Array,
  dsaEncoding: 'der' | 'ieee-p1363',
) {
  const hash = sha.replace('-', '').toLowerCase();
  return verify(hash, Buffer.from(msg, 'hex'), { key, dsaEncoding }, sig);
}

describe('Wycheproof ecdsa_secp256r1_sha256_test.json (DER signatures)', () => {
  const file = load('ecdsa_secp256r1_sha256_test.json');
  const cases = file.testGroups.flatMap((group) => group.tests.map((test) => ({ group, test })));

  it('knows every flag the file uses', () => {
    const flags = new Set(cases.flatMap(({ test }) => test.flags));
    for (const flag of flags) expect(file.notes).toHaveProperty(flag);
    for (const flag of [...MUST_REJECT, ...REJECT_OR_FAIL]) expect(flags).toContain(flag);
  });

  it('parses every group public key to the listed point', () => {
    for (const group of file.testGroups) {
      const parsed = parseSpki(hex(group.publicKeyDer));
      expect(parsed.keySpec).toBe('ECC_NIST_P256');
      expect(toHex(parsed.ec!.point)).toBe(group.publicKey.uncompressed);
    }
  });

  it('valid signatures: DER → P1363 → DER round-trips and node verifies the P1363 form', () => {
    let count = 0;
    for (const { group, test } of cases) {
      if (test.result !== 'valid') continue;
      const derSignature = hex(test.sig);
      const raw = ecdsaDerToP1363(derSignature, 32);
      expect(ecdsaP1363ToDer(raw, 32), `tcId ${test.tcId}`).toEqual(derSignature);
      expect(
        nodeVerifies(nodeKeyOf(group.publicKeyDer), group.sha, test.msg, raw, 'ieee-p1363'),
        `tcId ${test.tcId}`,
      ).toBe(true);
      count++;
    }
    expect(count).toBe(174);
  });

  it('encoding faults are refused; anything else accepted does not verify', () => {
    const tally = { rejected: 0, acceptedButUnverified: 0 };
    for (const { group, test } of cases) {
      if (test.result === 'valid') continue;
      const label = `tcId ${test.tcId} (${test.flags.join(', ')}: ${test.comment})`;
      const result = tryConvert(() => ecdsaDerToP1363(hex(test.sig), 32));
      if (test.flags.some((flag) => MUST_REJECT.has(flag))) {
        expect(result, label).toBeInstanceOf(KeyswitchError);
      }
      if (result instanceof KeyswitchError) {
        tally.rejected++;
        continue;
      }
      expect(test.result, label).toBe('invalid');
      // Accepted means strict DER: it converts back byte-exact, and node still refuses the signature.
      expect(toHex(ecdsaP1363ToDer(result, 32)), label).toBe(test.sig);
      expect(
        nodeVerifies(nodeKeyOf(group.publicKeyDer), group.sha, test.msg, result, 'ieee-p1363'),
        label,
      ).toBe(false);
      tally.acceptedButUnverified++;
    }
    // Every invalid vector was refused or, if accepted, failed to verify; 71 carry a MUST_REJECT flag.
    const encodingFaults = cases.filter(({ test }) => test.flags.some((flag) => MUST_REJECT.has(flag)));
    expect(encodingFaults.length).toBe(71);
    // 310 invalid vectors: 235 refused as malformed DER, 75 well-formed DER of wrong values that node refuses.
    expect(tally).toEqual({ rejected: 235, acceptedButUnverified: 75 });
  });
});

describe('Wycheproof ecdsa_secp256r1_sha256_p1363_test.json (P1363 signatures)', () => {
  const file = load('ecdsa_secp256r1_sha256_p1363_test.json');
  const cases = file.testGroups.flatMap((group) => group.tests.map((test) => ({ group, test })));

  it('parses every group public key to the listed point and JWK', () => {
    let withJwk = 0;
    for (const group of file.testGroups) {
      const spki = hex(group.publicKeyDer);
      expect(toHex(parseSpki(spki).ec!.point)).toBe(group.publicKey.uncompressed);
      if (group.publicKeyJwk === undefined) continue;
      const { kid: _kid, ...jwk } = group.publicKeyJwk;
      expect(spkiToJwk(spki)).toEqual(jwk);
      withJwk++;
    }
    expect(withJwk).toBeGreaterThan(0);
  });

  it('valid signatures: P1363 → DER → P1363 round-trips and node verifies the DER form', () => {
    let count = 0;
    for (const { group, test } of cases) {
      if (test.result !== 'valid') continue;
      const raw = hex(test.sig);
      const derSignature = ecdsaP1363ToDer(raw, 32);
      expect(ecdsaDerToP1363(derSignature, 32), `tcId ${test.tcId}`).toEqual(raw);
      expect(
        nodeVerifies(nodeKeyOf(group.publicKeyDer), group.sha, test.msg, derSignature, 'der'),
        `tcId ${test.tcId}`,
      ).toBe(true);
      count++;
    }
    expect(count).toBe(173);
  });

  it('signatures of the wrong size are refused; anything converted does not verify', () => {
    for (const { group, test } of cases) {
      if (test.result === 'valid') continue;
      const label = `tcId ${test.tcId} (${test.flags.join(', ')}: ${test.comment})`;
      const result = tryConvert(() => ecdsaP1363ToDer(hex(test.sig), 32));
      if (test.flags.includes('SignatureSize')) expect(result, label).toBeInstanceOf(KeyswitchError);
      if (result instanceof KeyswitchError) {
        // the only reason to refuse a P1363 signature is its size (r + n and the like no longer fit)
        expect(test.sig.length, label).not.toBe(128);
        continue;
      }
      expect(ecdsaDerToP1363(result, 32), label).toEqual(hex(test.sig));
      expect(nodeVerifies(nodeKeyOf(group.publicKeyDer), group.sha, test.msg, result, 'der'), label).toBe(
        false,
      );
    }
  });
});
