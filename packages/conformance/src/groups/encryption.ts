import {
  algorithmsFor,
  bytesEqual,
  type EncryptionAlgorithm,
  type EncryptionContext,
  KEY_SPECS,
  type KeySpec,
  keySpecInfo,
  LIMITS,
  utf8,
} from '@keyswitch/core';
import { check, checkBytesEqual, expectCode } from '../lib/assertions.js';
import { flipBit, randomInput } from '../lib/byte-inputs.js';
import { defineGroup, type Session } from '../lib/group.js';
import { nodeOaepEncrypt, oaepMaxPlaintext } from '../lib/node-crypto.js';
import { resolveSuiteOptions } from '../lib/suite-options.js';
import type { SuiteOptions } from '../options.js';

const RSA_SPECS: readonly KeySpec[] = KEY_SPECS.filter((spec) => keySpecInfo(spec).family === 'RSA');
const CONTEXT: EncryptionContext = { tenant: 't1', purpose: 'keyswitch-conformance' };

/**
 * The encryption group. SYMMETRIC_DEFAULT: round trips with and without an encryption context, ciphertext
 * decrypts only with the same context, tampered ciphertext or tag and another key's ciphertext fail with
 * INVALID_CIPHERTEXT, encryption is randomised. RSA-OAEP, for every declared hash and key size: round
 * trips up to the largest plaintext, node:crypto's OAEP ciphertexts decrypt, tampered ciphertext and a
 * ciphertext not below the modulus fail with INVALID_CIPHERTEXT.
 *
 * @example
 * ```ts
 * encryptionTests({ describe, it, beforeAll, afterAll, createProvider: () => SoftHsm.open() });
 * ```
 */
export function encryptionTests(options: SuiteOptions): void {
  const resolved = resolveSuiteOptions(options);
  const needs = [
    { spec: 'SYMMETRIC_DEFAULT' as const, usage: 'ENCRYPT_DECRYPT' as const, count: 2 },
    ...RSA_SPECS.map((spec) => ({ spec, usage: 'ENCRYPT_DECRYPT' as const })),
  ];
  defineGroup(resolved, 'encryption', 'encryption', needs, (group) => {
    group.describe('SYMMETRIC_DEFAULT', () => declareSymmetricChecks(group.test));
    for (const spec of RSA_SPECS) {
      for (const algorithm of algorithmsFor(spec, 'ENCRYPT_DECRYPT') as EncryptionAlgorithm[]) {
        group.describe(`${algorithm} with ${spec}`, () => declareOaepChecks(group.test, spec, algorithm));
      }
    }
  });
}

type Declare = (name: string, body: (session: Session) => Promise<void>) => void;

function symmetricKey(session: Session, index = 0) {
  return session.keyFor('SYMMETRIC_DEFAULT', 'ENCRYPT_DECRYPT', {
    algorithm: 'SYMMETRIC_DEFAULT',
    attempt: (ref) => session.provider.encrypt({ ref, algorithm: 'SYMMETRIC_DEFAULT', plaintext: utf8('x') }),
    index,
  });
}

function declareSymmetricChecks(test: Declare): void {
  const algorithm = 'SYMMETRIC_DEFAULT';

  test('encrypts and decrypts, with and without an encryption context', async (session) => {
    const { ref } = await symmetricKey(session);
    for (const size of [1, 100, LIMITS.maxSymmetricPlaintextBytes]) {
      for (const context of [undefined, CONTEXT]) {
        const plaintext = randomInput(size);
        const ciphertext = await session.provider.encrypt({
          ref,
          algorithm,
          plaintext,
          ...(context ? { context } : {}),
        });
        // Only where chance cannot make it fail: a 1-byte plaintext equals the first ciphertext byte
        // once in 256 runs; 16 bytes, once in 2^128.
        if (size >= 16) {
          check(
            !bytesEqual(ciphertext.subarray(0, size), plaintext),
            'the ciphertext starts with the plaintext',
          );
        }
        const decrypted = await session.provider.decrypt({
          ref,
          algorithm,
          ciphertext,
          ...(context ? { context } : {}),
        });
        checkBytesEqual(
          decrypted,
          plaintext,
          `decryption of ${size} bytes ${context ? 'with' : 'without'} a context`,
        );
      }
    }
  });

  test('ciphertext decrypts only with the same encryption context', async (session) => {
    const { ref } = await symmetricKey(session);
    const plaintext = utf8('4111111111111111');
    const ciphertext = await session.provider.encrypt({ ref, algorithm, plaintext, context: CONTEXT });
    const reordered = Object.fromEntries(Object.entries(CONTEXT).reverse());
    checkBytesEqual(
      await session.provider.decrypt({ ref, algorithm, ciphertext, context: reordered }),
      plaintext,
      'decryption with the same context in another key order',
    );
    const wrong: Array<[string, EncryptionContext | undefined]> = [
      ['another value', { ...CONTEXT, tenant: 't2' }],
      ['an extra entry', { ...CONTEXT, extra: 'x' }],
      ['an entry missing', { tenant: 't1' }],
      ['no context', undefined],
    ];
    for (const [what, context] of wrong) {
      await expectCode(
        () => session.provider.decrypt({ ref, algorithm, ciphertext, ...(context ? { context } : {}) }),
        'INVALID_CIPHERTEXT',
        `decryption with ${what}`,
      );
    }
    const bare = await session.provider.encrypt({ ref, algorithm, plaintext });
    await expectCode(
      () => session.provider.decrypt({ ref, algorithm, ciphertext: bare, context: CONTEXT }),
      'INVALID_CIPHERTEXT',
      'decryption with a context of ciphertext made without one',
    );
  });

  test('tampered ciphertext or tag fails with INVALID_CIPHERTEXT', async (session) => {
    const { ref } = await symmetricKey(session);
    const ciphertext = await session.provider.encrypt({
      ref,
      algorithm,
      plaintext: randomInput(32),
      context: CONTEXT,
    });
    const decrypt = (tampered: Uint8Array) =>
      session.provider.decrypt({ ref, algorithm, ciphertext: tampered, context: CONTEXT });
    await expectCode(
      () => decrypt(flipBit(ciphertext, 0)),
      'INVALID_CIPHERTEXT',
      'decryption of ciphertext with its first byte changed',
    );
    await expectCode(
      () => decrypt(ciphertext.subarray(0, -1)),
      'INVALID_CIPHERTEXT',
      'decryption of ciphertext with its last byte removed',
    );
    await expectCode(
      () => decrypt(new Uint8Array([...ciphertext, 0])),
      'INVALID_CIPHERTEXT',
      'decryption of ciphertext with a byte appended',
    );
    // Every byte position, the header included: an implementation that ignores a change anywhere fails.
    const missed = await tamperEveryByte(ciphertext, (tampered) =>
      expectCode(() => decrypt(tampered), 'INVALID_CIPHERTEXT', 'decryption of tampered ciphertext'),
    );
    check(
      missed.length === 0,
      `decryption did not fail with INVALID_CIPHERTEXT for a change at ${missed.length} of ${ciphertext.length} byte positions (${missed
        .slice(0, 8)
        .map((miss) => miss.position)
        .join(', ')}${missed.length > 8 ? ', …' : ''}): ${missed[0]?.reason ?? ''}`,
    );
  });

  test("another key's ciphertext fails with INVALID_CIPHERTEXT", async (session) => {
    const first = await symmetricKey(session);
    const second = await symmetricKey(session, 1);
    const ciphertext = await session.provider.encrypt({
      ref: first.ref,
      algorithm,
      plaintext: utf8('secret'),
    });
    await expectCode(
      () => session.provider.decrypt({ ref: second.ref, algorithm, ciphertext }),
      'INVALID_CIPHERTEXT',
      "decryption with another key of the first key's ciphertext",
    );
  });

  test('encrypting the same plaintext twice gives different ciphertexts', async (session) => {
    const { ref } = await symmetricKey(session);
    const plaintext = utf8('same plaintext');
    const first = await session.provider.encrypt({ ref, algorithm, plaintext, context: CONTEXT });
    const second = await session.provider.encrypt({ ref, algorithm, plaintext, context: CONTEXT });
    check(
      !bytesEqual(first, second),
      'two encryptions of the same plaintext gave the same ciphertext (no random IV?)',
    );
  });
}

function declareOaepChecks(test: Declare, spec: KeySpec, algorithm: EncryptionAlgorithm): void {
  const keyFor = (session: Session) =>
    session.keyFor(spec, 'ENCRYPT_DECRYPT', {
      algorithm,
      attempt: (ref) => session.provider.encrypt({ ref, algorithm, plaintext: utf8('x') }),
    });
  const modulusBytes = keySpecInfo(spec).bits / 8;
  const maximum = oaepMaxPlaintext(spec, algorithm);

  test('encrypts and decrypts up to the largest plaintext', async (session) => {
    const { ref } = await keyFor(session);
    for (const size of [1, maximum]) {
      const plaintext = randomInput(size);
      const ciphertext = await session.provider.encrypt({ ref, algorithm, plaintext });
      check(
        ciphertext.byteLength === modulusBytes,
        `RSA-OAEP ciphertext must be ${modulusBytes} bytes, got ${ciphertext.byteLength}`,
      );
      checkBytesEqual(
        await session.provider.decrypt({ ref, algorithm, ciphertext }),
        plaintext,
        `decryption of ${size} bytes`,
      );
    }
    await expectCode(
      () => session.provider.encrypt({ ref, algorithm, plaintext: randomInput(maximum + 1) }),
      'INVALID_INPUT',
      `encryption of ${maximum + 1} bytes (the limit is ${maximum})`,
    );
  });

  test('node:crypto OAEP ciphertexts decrypt', async (session) => {
    const key = await keyFor(session);
    const plaintext = randomInput(32);
    const ciphertext = nodeOaepEncrypt(algorithm, await key.publicKey(), plaintext);
    checkBytesEqual(
      await session.provider.decrypt({ ref: key.ref, algorithm, ciphertext }),
      plaintext,
      'decryption of node:crypto ciphertext',
    );
  });

  test('tampered ciphertext fails with INVALID_CIPHERTEXT', async (session) => {
    const key = await keyFor(session);
    const ciphertext = await session.provider.encrypt({
      ref: key.ref,
      algorithm,
      plaintext: randomInput(32),
    });
    for (const [what, tampered] of [
      ['an early byte changed', flipBit(ciphertext, 4)],
      ['a middle byte changed', flipBit(ciphertext, ciphertext.length >> 1)],
      ['its last byte changed', flipBit(ciphertext, -1)],
    ] as const) {
      await expectCode(
        () => session.provider.decrypt({ ref: key.ref, algorithm, ciphertext: tampered }),
        'INVALID_CIPHERTEXT',
        `decryption of ciphertext with ${what}`,
      );
    }
    const otherHash = algorithm === 'RSAES_OAEP_SHA_1' ? 'RSAES_OAEP_SHA_256' : 'RSAES_OAEP_SHA_1';
    const foreign = nodeOaepEncrypt(otherHash, await key.publicKey(), randomInput(32));
    await expectCode(
      () => session.provider.decrypt({ ref: key.ref, algorithm, ciphertext: foreign }),
      'INVALID_CIPHERTEXT',
      `decryption as ${algorithm} of ${otherHash} ciphertext`,
    );
  });

  test('encrypting the same plaintext twice gives different ciphertexts', async (session) => {
    const { ref } = await keyFor(session);
    const plaintext = utf8('same plaintext');
    const first = await session.provider.encrypt({ ref, algorithm, plaintext });
    const second = await session.provider.encrypt({ ref, algorithm, plaintext });
    check(!bytesEqual(first, second), 'two OAEP encryptions of the same plaintext gave the same ciphertext');
  });

  // RFC 8017 7.1.2 step 2a: a ciphertext integer not below the modulus is a decryption error, which every
  // backend must report as INVALID_CIPHERTEXT (never INTERNAL, never retryable).
  test('a ciphertext not below the modulus (c ≥ n) fails with INVALID_CIPHERTEXT', async (session) => {
    const key = await keyFor(session);
    const jwk = (await key.publicKey()).export({ format: 'jwk' });
    const modulus = new Uint8Array(Buffer.from(jwk.n ?? '', 'base64url'));
    check(modulus.byteLength === modulusBytes, `the public key's modulus must be ${modulusBytes} bytes`);
    for (const [what, ciphertext] of [
      ['c = n', modulus],
      ['c = 2^k - 1 (every byte 0xff)', new Uint8Array(modulusBytes).fill(0xff)],
    ] as const) {
      const error = await expectCode(
        () => session.provider.decrypt({ ref: key.ref, algorithm, ciphertext }),
        'INVALID_CIPHERTEXT',
        `decryption of ${what}`,
      );
      check(!error.retryable, `decryption of ${what}: INVALID_CIPHERTEXT must not be retryable`);
    }
  });
}

/**
 * Flips one bit at every byte position of a ciphertext and runs `expectRefused` on each (16 at a time);
 * returns the positions where it failed, with the first reason.
 */
async function tamperEveryByte(
  ciphertext: Uint8Array,
  expectRefused: (tampered: Uint8Array) => Promise<unknown>,
): Promise<{ position: number; reason: string }[]> {
  const missed: { position: number; reason: string }[] = [];
  for (let start = 0; start < ciphertext.length; start += 16) {
    const positions = Array.from(
      { length: Math.min(16, ciphertext.length - start) },
      (_, index) => start + index,
    );
    const outcomes = await Promise.allSettled(
      positions.map((position) => expectRefused(flipBit(ciphertext, position))),
    );
    outcomes.forEach((outcome, index) => {
      if (outcome.status === 'rejected') {
        const reason = outcome.reason instanceof Error ? outcome.reason.message : String(outcome.reason);
        missed.push({ position: positions[index]!, reason });
      }
    });
  }
  return missed;
}
