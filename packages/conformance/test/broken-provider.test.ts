import { describe, expect, it } from 'vitest';
import { runConformance } from '../src/index.js';
import { type Fault, importIntoMinimal, MinimalProvider } from './support/minimal-provider.js';

const PSS = 'signing › RSASSA_PSS_SHA_256 with RSA_2048 › ';
const PKCS1 = 'signing › RSASSA_PKCS1_V1_5_SHA_256 with RSA_2048 › ';
const ECDSA = 'signing › ECDSA_SHA_256 with ECC_NIST_P256 › ';
const CONCURRENCY = 'concurrency › 200 operations in flight give 200 correct results';

/** For each deliberate bug, exactly the checks that must fail (group › name), no more, no fewer. */
const EXPECTED: Record<Fault, string[]> = {
  'pss-salt-zero': [
    `${PSS}signs; node:crypto verifies with the exported public key`,
    `${PSS}RSA-PSS: the salt is as long as the digest`,
    `${PSS}RSA-PSS: verify refuses signatures with another salt length`,
    `${PSS}node:crypto signatures over an imported key verify through the provider`,
    `${PSS}message (RAW) and precomputed digest (DIGEST) signing agree`,
    `${PSS}the empty message signs and verifies; node:crypto agrees`,
    // node:crypto's signature, with the right salt, does not verify to begin with.
    `${PSS}an RSA signature with its leading zero byte dropped verifies as false`,
    CONCURRENCY,
  ],
  'wrong-signature-bytes': [
    ...[PSS, PKCS1, ECDSA].flatMap((prefix) => [
      `${prefix}signs; node:crypto verifies with the exported public key`,
      `${prefix}node:crypto signatures over an imported key verify through the provider`,
      // Changing the last byte of a wrong signature undoes the bug: verify then (rightly) says true.
      `${prefix}a changed message or signature verifies as false, not an error`,
      `${prefix}message (RAW) and precomputed digest (DIGEST) signing agree`,
      `${prefix}the empty message signs and verifies; node:crypto agrees`,
    ]),
    `${PSS}RSA-PSS: the salt is as long as the digest`,
    `${ECDSA}ECDSA: signs and verifies in DER and in P1363`,
    CONCURRENCY,
  ],
  'verify-always-true': [
    `${PSS}RSA-PSS: verify refuses signatures with another salt length`,
    `${PSS}a changed message or signature verifies as false, not an error`,
    `${PKCS1}a changed message or signature verifies as false, not an error`,
    `${ECDSA}a changed message or signature verifies as false, not an error`,
    `${ECDSA}ECDSA: signs and verifies in DER and in P1363`,
    ...[PSS, PKCS1, ECDSA].flatMap((prefix) => [
      `${prefix}malformed signatures (bytes dropped or added, zero padding) verify as false`,
      `${prefix}the empty message signs and verifies; node:crypto agrees`,
    ]),
    `${PSS}an RSA signature with its leading zero byte dropped verifies as false`,
    `${PKCS1}an RSA signature with its leading zero byte dropped verifies as false`,
  ],
  'wrong-ecdh-secret': [
    "key-agreement › ECDH with ECC_NIST_P256 › the shared secret equals node:crypto's on the peer's side",
  ],
  'wrong-decrypt-error-code': [
    'encryption › SYMMETRIC_DEFAULT › ciphertext decrypts only with the same encryption context',
    'encryption › SYMMETRIC_DEFAULT › tampered ciphertext or tag fails with INVALID_CIPHERTEXT',
    "encryption › SYMMETRIC_DEFAULT › another key's ciphertext fails with INVALID_CIPHERTEXT",
    'encryption › RSAES_OAEP_SHA_256 with RSA_2048 › tampered ciphertext fails with INVALID_CIPHERTEXT',
    'encryption › RSAES_OAEP_SHA_256 with RSA_2048 › a ciphertext not below the modulus (c ≥ n) fails with INVALID_CIPHERTEXT',
    'data-keys › a data key unwraps only with its encryption context',
  ],
  'ignores-disabled-state': [
    'keys › disableKey: the key is DISABLED and operations fail with KEY_DISABLED',
    'keys › scheduleKeyDeletion: the key is PENDING_DELETION and operations fail with KEY_DISABLED',
    'keys › cancelKeyDeletion: the key comes back DISABLED, and enableKey makes it usable',
  ],
  'fixed-iv': [
    'encryption › SYMMETRIC_DEFAULT › encrypting the same plaintext twice gives different ciphertexts',
  ],
  'shared-state-race': [CONCURRENCY],
  // Fixed tamper positions (first, middle, last bytes) all land on checked bytes; only every position catches it.
  'unauthenticated-header': [
    'encryption › SYMMETRIC_DEFAULT › tampered ciphertext or tag fails with INVALID_CIPHERTEXT',
  ],
};

describe('the suite against deliberately broken providers', () => {
  for (const [fault, expected] of Object.entries(EXPECTED) as Array<[Fault, string[]]>) {
    it(`${fault}: fails exactly the checks that see the bug`, async () => {
      const report = await runConformance({
        createProvider: () => new MinimalProvider({ faults: [fault] }),
        importKey: importIntoMinimal,
      });
      const failed = report.results
        .filter((result) => result.status === 'failed')
        .map((result) => `${result.group} › ${result.name}`);
      expect(failed.sort()).toEqual([...expected].sort());
      expect(report.summary.ok).toBe(false);
      // Cleanup ran even though checks failed.
      expect(report.cleanup.keys.length).toBeGreaterThan(0);
      expect(
        report.cleanup.keys.every(
          (key) => key.action === 'scheduled-deletion' || key.action === 'already-scheduled',
        ),
      ).toBe(true);
    });
  }

  it('reports each failure with the reason a maintainer needs', async () => {
    const report = await runConformance({
      createProvider: () => new MinimalProvider({ faults: ['pss-salt-zero', 'wrong-decrypt-error-code'] }),
      importKey: importIntoMinimal,
      groups: ['signing', 'encryption'],
    });
    const reason = (name: string) =>
      report.results.find((result) => `${result.group} › ${result.name}` === name)?.reason;
    expect(reason(`${PSS}RSA-PSS: the salt is as long as the digest`)).toBe(
      'the salt must be 32 bytes; it is 0 bytes',
    );
    expect(
      reason('encryption › SYMMETRIC_DEFAULT › tampered ciphertext or tag fails with INVALID_CIPHERTEXT'),
    ).toMatch(
      /^decryption of ciphertext with its first byte changed: expected INVALID_CIPHERTEXT, got INVALID_INPUT/,
    );
  });
});
