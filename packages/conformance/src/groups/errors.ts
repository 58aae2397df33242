import {
  algorithmInfo,
  algorithmsFor,
  type EncryptionAlgorithm,
  isKeyswitchError,
  KEY_USAGES,
  type KeyUsage,
  LIMITS,
  type MacAlgorithm,
  type SigningAlgorithm,
  utf8,
} from '@keyswitch/core';
import { anyKey, preferredSpecs } from '../lib/any-key.js';
import { check, describeError, expectCode } from '../lib/assertions.js';
import { randomInput } from '../lib/byte-inputs.js';
import { declaredAlgorithm, exerciseKey } from '../lib/exercise-key.js';
import { defineGroup, type Session } from '../lib/group.js';
import type { PreparedKey } from '../lib/key-pool.js';
import { CheckFailed, NotRun } from '../lib/outcomes.js';
import { resolveSuiteOptions } from '../lib/suite-options.js';
import type { SuiteOptions } from '../options.js';
import { declareKeyExistsCheck } from './key-exists.js';

/**
 * The errors group: the same fault gives the same code on every backend. An unknown reference gives
 * KEY_NOT_FOUND (as a KeyswitchError naming the provider); a key used for another usage, or with an
 * algorithm of another key spec, USAGE_MISMATCH; a digest of the wrong length, empty input, input over the
 * LIMITS and an encryption context with RSA-OAEP, INVALID_INPUT; malformed arguments to any operation, a
 * KeyswitchError and never a bare Error; a second key under a label in use, KEY_EXISTS; calls after
 * `close()`, CLOSED.
 *
 * @example
 * ```ts
 * errorTests({ describe, it, beforeAll, afterAll, createProvider: () => SoftHsm.open() });
 * ```
 */
export function errorTests(options: SuiteOptions): void {
  const resolved = resolveSuiteOptions(options);
  const needs = [
    { spec: 'ECC_NIST_P256' as const, usage: 'SIGN_VERIFY' as const },
    { spec: 'SYMMETRIC_DEFAULT' as const, usage: 'ENCRYPT_DECRYPT' as const },
    { spec: 'HMAC_256' as const, usage: 'GENERATE_VERIFY_MAC' as const },
    { spec: 'ECC_NIST_P256' as const, usage: 'KEY_AGREEMENT' as const },
    { spec: 'RSA_2048' as const, usage: 'ENCRYPT_DECRYPT' as const },
  ];
  defineGroup(resolved, 'errors', 'errors', needs, (group) => {
    const test = group.test;

    test('an unknown key reference fails with KEY_NOT_FOUND, as a KeyswitchError naming the provider', async (session) => {
      const { provider, capabilities } = session;
      const missing = session.options.missingKeyRef;
      const error = await expectCode(
        () => provider.describeKey(missing),
        'KEY_NOT_FOUND',
        `describeKey(${missing})`,
      );
      check(
        error.provider === provider.name,
        `the error names provider ${error.provider}, not ${provider.name}`,
      );
      check(error.retryable === false, 'KEY_NOT_FOUND must not be retryable');
      for (const usage of KEY_USAGES) {
        const spec = preferredSpecs(usage).find(
          (candidate) => declaredAlgorithm(capabilities, candidate, usage) !== undefined,
        );
        if (spec === undefined) continue;
        await expectCode(
          () => exerciseKey(provider, { ref: missing, spec, usage }, capabilities),
          'KEY_NOT_FOUND',
          `a ${usage} operation on ${missing}`,
        );
      }
      await expectCode(() => provider.getPublicKey(missing), 'KEY_NOT_FOUND', `getPublicKey(${missing})`);
      if (capabilities.operations.disableKey) {
        await expectCode(() => provider.disableKey(missing), 'KEY_NOT_FOUND', `disableKey(${missing})`);
      }
    });

    test('a key used for another usage fails with USAGE_MISMATCH', async (session) => {
      const keys = await keysByUsage(session);
      let checked = 0;
      for (const key of keys) {
        for (const usage of KEY_USAGES.filter((other) => other !== key.usage)) {
          const spec = preferredSpecs(usage).find((candidate) =>
            declaredAlgorithm(session.capabilities, candidate, usage),
          );
          if (spec === undefined) continue;
          const algorithm = declaredAlgorithm(session.capabilities, spec, usage);
          await expectCode(
            () =>
              exerciseKey(
                session.provider,
                { ref: key.ref, spec: key.spec, usage },
                session.capabilities,
                algorithm,
              ),
            'USAGE_MISMATCH',
            `${algorithm} with a ${key.spec} ${key.usage} key`,
          );
          checked++;
        }
      }
      if (checked === 0) throw new NotRun('needs keys of two usages');
    });

    test('an algorithm for another key spec fails with USAGE_MISMATCH', async (session) => {
      let checked = 0;
      for (const key of await keysByUsage(session)) {
        const foreign = session.capabilities.algorithms.find(
          (algorithm) =>
            algorithmInfo(algorithm).usage === key.usage &&
            !algorithmsFor(key.spec, key.usage).includes(algorithm),
        );
        if (foreign === undefined) continue;
        await expectCode(
          () => exerciseKey(session.provider, key, session.capabilities, foreign),
          'USAGE_MISMATCH',
          `${foreign} with a ${key.spec} key`,
        );
        checked++;
      }
      if (checked === 0) throw new NotRun('needs a declared algorithm that a held key spec does not allow');
    });

    test('a digest of the wrong length fails with INVALID_INPUT', async (session) => {
      const key = await requiredKey(session, 'SIGN_VERIFY');
      const algorithm = declaredAlgorithm(session.capabilities, key.spec, key.usage) as SigningAlgorithm;
      const digestBytes = algorithmInfo(algorithm).digestBytes!;
      for (const length of [0, digestBytes - 1, digestBytes + 1]) {
        const digest = randomInput(length);
        await expectCode(
          () => session.provider.sign({ ref: key.ref, algorithm, message: digest, messageType: 'DIGEST' }),
          'INVALID_INPUT',
          `sign ${algorithm} with a ${length}-byte digest`,
        );
        await expectCode(
          () =>
            session.provider.verify({
              ref: key.ref,
              algorithm,
              message: digest,
              messageType: 'DIGEST',
              signature: randomInput(64),
            }),
          'INVALID_INPUT',
          `verify ${algorithm} with a ${length}-byte digest`,
        );
      }
    });

    test(`SYMMETRIC_DEFAULT plaintext: empty or over ${LIMITS.maxSymmetricPlaintextBytes} bytes fails with INVALID_INPUT`, async (session) => {
      const key = await symmetricKey(session);
      const encrypt = (plaintext: Uint8Array) =>
        session.provider.encrypt({ ref: key.ref, algorithm: 'SYMMETRIC_DEFAULT', plaintext });
      await encrypt(randomInput(LIMITS.maxSymmetricPlaintextBytes));
      await expectCode(
        () => encrypt(randomInput(LIMITS.maxSymmetricPlaintextBytes + 1)),
        'INVALID_INPUT',
        'encryption of 4,097 bytes',
      );
      await expectCode(() => encrypt(new Uint8Array(0)), 'INVALID_INPUT', 'encryption of an empty plaintext');
    });

    test(`ciphertext over ${LIMITS.maxCiphertextBytes} bytes, or empty, fails with INVALID_INPUT`, async (session) => {
      const key = await symmetricKey(session);
      for (const size of [LIMITS.maxCiphertextBytes + 1, 0]) {
        await expectCode(
          () =>
            session.provider.decrypt({
              ref: key.ref,
              algorithm: 'SYMMETRIC_DEFAULT',
              ciphertext: randomInput(size),
            }),
          'INVALID_INPUT',
          `decryption of ${size} bytes`,
        );
      }
    });

    test(`an encryption context over ${LIMITS.maxContextBytes} bytes fails with INVALID_INPUT`, async (session) => {
      const key = await symmetricKey(session);
      const context = { big: 'x'.repeat(LIMITS.maxContextBytes) };
      await expectCode(
        () =>
          session.provider.encrypt({
            ref: key.ref,
            algorithm: 'SYMMETRIC_DEFAULT',
            plaintext: utf8('x'),
            context,
          }),
        'INVALID_INPUT',
        'encryption with an oversize context',
      );
    });

    test('an encryption context with RSA-OAEP fails with INVALID_INPUT', async (session) => {
      const key = await requiredKey(session, 'ENCRYPT_DECRYPT', 'RSA');
      const algorithm = declaredAlgorithm(session.capabilities, key.spec, key.usage) as EncryptionAlgorithm;
      await expectCode(
        () =>
          session.provider.encrypt({
            ref: key.ref,
            algorithm,
            plaintext: utf8('x'),
            context: { tenant: 't1' },
          }),
        'INVALID_INPUT',
        `${algorithm} encryption with a context`,
      );
    });

    test(`MAC message: empty or over ${LIMITS.maxMacMessageBytes} bytes fails with INVALID_INPUT`, async (session) => {
      const key = await requiredKey(session, 'GENERATE_VERIFY_MAC');
      const algorithm = declaredAlgorithm(session.capabilities, key.spec, key.usage) as MacAlgorithm;
      for (const size of [LIMITS.maxMacMessageBytes + 1, 0]) {
        await expectCode(
          () => session.provider.generateMac({ ref: key.ref, algorithm, message: randomInput(size) }),
          'INVALID_INPUT',
          `a MAC of ${size} bytes`,
        );
      }
    });

    test('malformed arguments to every operation fail with a KeyswitchError, never a bare Error', async (session) => {
      const { provider } = session;
      const missing = session.options.missingKeyRef;
      const sign = (await anyKey(session, 'SIGN_VERIFY'))?.ref ?? missing;
      const symmetric = (await anyKey(session, 'ENCRYPT_DECRYPT', preferredSpecs('ENCRYPT_DECRYPT', 'AES')))
        ?.ref;
      const aes = symmetric ?? missing;
      const mac = (await anyKey(session, 'GENERATE_VERIFY_MAC'))?.ref ?? missing;
      const agreement = (await anyKey(session, 'KEY_AGREEMENT'))?.ref ?? missing;
      const garbage = (value: unknown) => value as never;
      const calls: Array<[string, () => Promise<unknown>]> = [
        ['describeKey(undefined)', () => provider.describeKey(garbage(undefined))],
        ['describeKey(42)', () => provider.describeKey(garbage(42))],
        ['getPublicKey(null)', () => provider.getPublicKey(garbage(null))],
        ['listKeys({ limit: "x" })', () => provider.listKeys({ limit: garbage('x') })],
        ['createKey(undefined)', () => provider.createKey(garbage(undefined))],
        [
          'createKey with tags "x"',
          () => provider.createKey({ spec: 'HMAC_256', usage: 'GENERATE_VERIFY_MAC', tags: garbage('x') }),
        ],
        ['importKey(undefined)', () => provider.importKey(garbage(undefined))],
        ['importKey with pem 42', () => provider.importKey({ usage: 'SIGN_VERIFY', pem: garbage(42) })],
        [
          'importKey with a junk spki',
          () => provider.importKey({ usage: 'SIGN_VERIFY', spki: utf8('junk') }),
        ],
        [
          'importKey with pkcs12 "x"',
          () => provider.importKey({ usage: 'SIGN_VERIFY', pkcs12: garbage('x') }),
        ],
        ['sign(undefined)', () => provider.sign(garbage(undefined))],
        [
          'sign with a string message',
          () => provider.sign({ ref: sign, algorithm: garbage('ECDSA_SHA_256'), message: garbage('text') }),
        ],
        [
          'verify with an array signature',
          () =>
            provider.verify({
              ref: sign,
              algorithm: 'ECDSA_SHA_256',
              message: utf8('x'),
              signature: garbage([1, 2]),
            }),
        ],
        [
          'encrypt with null plaintext and context 5',
          () =>
            provider.encrypt({
              ref: aes,
              algorithm: 'SYMMETRIC_DEFAULT',
              plaintext: garbage(null),
              context: garbage(5),
            }),
        ],
        [
          'decrypt of 10 junk bytes',
          () => provider.decrypt({ ref: aes, algorithm: 'SYMMETRIC_DEFAULT', ciphertext: randomInput(10) }),
        ],
        [
          'generateMac with an object message',
          () => provider.generateMac({ ref: mac, algorithm: 'HMAC_SHA_256', message: garbage({}) }),
        ],
        [
          'verifyMac with a string tag',
          () =>
            provider.verifyMac({
              ref: mac,
              algorithm: 'HMAC_SHA_256',
              message: utf8('x'),
              mac: garbage('tag'),
            }),
        ],
        [
          'deriveSharedSecret with a junk peer key',
          () =>
            provider.deriveSharedSecret({
              ref: agreement,
              algorithm: 'ECDH',
              publicKey: new Uint8Array([0x30, 0x03, 1, 2, 3]),
            }),
        ],
        [
          'generateDataKey with AES_512',
          () => provider.generateDataKey({ ref: aes, dataKeySpec: garbage('AES_512') }),
        ],
        ['generateRandom("16")', () => provider.generateRandom(garbage('16'))],
        ['enableKey(undefined)', () => provider.enableKey(garbage(undefined))],
        ['disableKey of a missing key', () => provider.disableKey(missing)],
        [
          'scheduleKeyDeletion with days "x"',
          () => provider.scheduleKeyDeletion(missing, { pendingWindowDays: garbage('x') }),
        ],
        ['cancelKeyDeletion of a missing key', () => provider.cancelKeyDeletion(missing)],
      ];
      const bare: string[] = [];
      for (const [what, call] of calls) {
        try {
          await call();
        } catch (error) {
          if (!isKeyswitchError(error)) bare.push(`${what}: ${describeError(error)}`);
        }
      }
      check(bare.length === 0, `these threw something other than a KeyswitchError: ${bare.join('; ')}`);
    });

    declareKeyExistsCheck(test);

    test('after close(), calls fail with CLOSED', async (session) => {
      const provider = await session.freshProvider();
      await provider.close();
      await expectCode(
        () => provider.describeKey(session.options.missingKeyRef),
        'CLOSED',
        'describeKey after close()',
      );
      try {
        await provider.close();
      } catch (error) {
        throw new CheckFailed(`a second close() must resolve, but it threw ${describeError(error)}`);
      }
    });
  });
}

async function requiredKey(
  session: Session,
  usage: KeyUsage,
  family?: 'RSA' | 'EC' | 'AES' | 'HMAC',
): Promise<PreparedKey> {
  const key = await anyKey(session, usage, preferredSpecs(usage, family));
  if (!key)
    throw new NotRun(`needs a ${family ?? ''}${family ? ' ' : ''}${usage} key with a declared algorithm`);
  return key;
}

function symmetricKey(session: Session): Promise<PreparedKey> {
  return session.keyFor('SYMMETRIC_DEFAULT', 'ENCRYPT_DECRYPT', {
    algorithm: 'SYMMETRIC_DEFAULT',
    attempt: (ref) => session.provider.encrypt({ ref, algorithm: 'SYMMETRIC_DEFAULT', plaintext: utf8('x') }),
  });
}

async function keysByUsage(session: Session): Promise<PreparedKey[]> {
  const keys: PreparedKey[] = [];
  for (const usage of KEY_USAGES) {
    const key = await anyKey(session, usage);
    if (key) keys.push(key);
  }
  return keys;
}
