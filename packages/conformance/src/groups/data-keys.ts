import type { EncryptionContext } from '@keyswitch/core';
import { bytesEqual } from '@keyswitch/core';
import { check, checkBytesEqual, expectCode } from '../lib/assertions.js';
import { defineGroup, type Session } from '../lib/group.js';
import type { PreparedKey } from '../lib/key-pool.js';
import { resolveSuiteOptions } from '../lib/suite-options.js';
import type { SuiteOptions } from '../options.js';

const CONTEXT: EncryptionContext = { tenant: 't1', purpose: 'keyswitch-conformance-data-key' };

/**
 * The data keys group: data keys (AES_256 by default, and AES_128) unwrap with `decrypt` to the bytes
 * that were generated, only with their encryption context; `withPlaintext: false` returns just the wrapped
 * key; every data key is new.
 *
 * @example
 * ```ts
 * dataKeyTests({ describe, it, beforeAll, afterAll, createProvider: () => SoftHsm.open() });
 * ```
 */
export function dataKeyTests(options: SuiteOptions): void {
  const resolved = resolveSuiteOptions(options);
  const needs = [{ spec: 'SYMMETRIC_DEFAULT' as const, usage: 'ENCRYPT_DECRYPT' as const }];
  defineGroup(resolved, 'data-keys', 'data keys', needs, (group) => {
    const test = group.test;

    for (const [dataKeySpec, size] of [
      ['AES_256', 32],
      ['AES_128', 16],
    ] as const) {
      test(`an ${dataKeySpec} data key unwraps to the ${size} bytes generated`, async (session) => {
        const { ref } = await wrappingKey(session);
        const dataKey = await session.provider.generateDataKey({ ref, dataKeySpec, context: CONTEXT });
        check(
          dataKey.plaintext?.byteLength === size,
          `the plaintext data key must be ${size} bytes, got ${dataKey.plaintext?.byteLength}`,
        );
        const unwrapped = await session.provider.decrypt({
          ref,
          algorithm: 'SYMMETRIC_DEFAULT',
          ciphertext: dataKey.ciphertextBlob,
          context: CONTEXT,
        });
        checkBytesEqual(unwrapped, dataKey.plaintext!, 'the unwrapped data key');
      });
    }

    test('the default data key is AES_256; withPlaintext: false returns only the wrapped key', async (session) => {
      const { ref } = await wrappingKey(session);
      const dataKey = await session.provider.generateDataKey({ ref, withPlaintext: false });
      check(dataKey.plaintext === undefined, 'withPlaintext: false still returned the plaintext data key');
      const unwrapped = await session.provider.decrypt({
        ref,
        algorithm: 'SYMMETRIC_DEFAULT',
        ciphertext: dataKey.ciphertextBlob,
      });
      check(
        unwrapped.byteLength === 32,
        `the default data key must be 32 bytes, got ${unwrapped.byteLength}`,
      );
    });

    test('a data key unwraps only with its encryption context', async (session) => {
      const { ref } = await wrappingKey(session);
      const dataKey = await session.provider.generateDataKey({ ref, context: CONTEXT });
      await expectCode(
        () =>
          session.provider.decrypt({
            ref,
            algorithm: 'SYMMETRIC_DEFAULT',
            ciphertext: dataKey.ciphertextBlob,
            context: { ...CONTEXT, tenant: 't2' },
          }),
        'INVALID_CIPHERTEXT',
        'unwrapping a data key with another context',
      );
    });

    test('every data key is new', async (session) => {
      const { ref } = await wrappingKey(session);
      const first = await session.provider.generateDataKey({ ref });
      const second = await session.provider.generateDataKey({ ref });
      check(!bytesEqual(first.plaintext!, second.plaintext!), 'two data keys are equal');
      check(!bytesEqual(first.ciphertextBlob, second.ciphertextBlob), 'two wrapped data keys are equal');
    });
  });
}

async function wrappingKey(session: Session): Promise<PreparedKey> {
  const attempt = (ref: string) => session.provider.generateDataKey({ ref });
  // An operation the manifest lacks is refused as such (UNSUPPORTED_OPERATION) before any key is looked at.
  if (!session.capabilities.operations.generateDataKey)
    await session.requireOperation('generateDataKey', () => attempt(session.options.missingKeyRef));
  const key = await session.keyFor('SYMMETRIC_DEFAULT', 'ENCRYPT_DECRYPT', {
    algorithm: 'SYMMETRIC_DEFAULT',
    attempt,
  });
  await session.requireOperation('generateDataKey', () => attempt(key.ref));
  return key;
}
