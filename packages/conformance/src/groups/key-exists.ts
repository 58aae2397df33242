import type { KeySpec, KeyUsage } from '@keyswitch/core';
import { check, expectCode } from '../lib/assertions.js';
import type { GroupBuilder } from '../lib/group.js';
import { NotRun } from '../lib/outcomes.js';

/** The keys the check prefers to create twice: the cheapest first. */
const CANDIDATES: ReadonlyArray<readonly [KeySpec, KeyUsage]> = [
  ['SYMMETRIC_DEFAULT', 'ENCRYPT_DECRYPT'],
  ['HMAC_256', 'GENERATE_VERIFY_MAC'],
  ['ECC_NIST_P256', 'SIGN_VERIFY'],
  ['ECC_NIST_P256', 'KEY_AGREEMENT'],
  ['RSA_2048', 'SIGN_VERIFY'],
  ['RSA_2048', 'ENCRYPT_DECRYPT'],
];

/**
 * Declares the KEY_EXISTS check in a group: a key created with a label, then a second createKey with the
 * same label, fails with KEY_EXISTS (not retryable), and the label still names the first key, enabled.
 * Every backend names keys (a KMS alias, a PKCS#11 CKA_LABEL, a software-HSM name); one that declares no
 * `createKey` is reported as not supported, after checking that createKey fails with UNSUPPORTED_OPERATION.
 *
 * @example
 * ```ts
 * defineGroup(resolved, 'errors', 'errors', needs, (group) => declareKeyExistsCheck(group.test));
 * ```
 */
export function declareKeyExistsCheck(test: GroupBuilder['test']): void {
  test('creating a key with a label in use fails with KEY_EXISTS, and the label keeps its key', async (session) => {
    const { provider, capabilities, pool } = session;
    const [spec, usage] = CANDIDATES.find(([candidate, purpose]) => {
      const support = capabilities.keySpecs[candidate];
      return support?.create === true && support.usages.includes(purpose);
    }) ?? ['SYMMETRIC_DEFAULT', 'ENCRYPT_DECRYPT'];
    await session.requireOperation('createKey', () => provider.createKey({ spec, usage }));
    if (!pool.creates) throw new NotRun('keys were given: the suite creates none');
    if (capabilities.keySpecs[spec]?.create !== true) {
      throw new NotRun('the manifest declares createKey, but no key spec the backend creates');
    }
    const label = pool.nextLabel();
    const first = await pool.create(spec, usage, label);
    // A second key under the same label is refused; were it created, the pool would clean it up too.
    const error = await expectCode(
      () => pool.create(spec, usage, label),
      'KEY_EXISTS',
      `a second createKey(${spec}, ${usage}) with the label "${label}"`,
    );
    check(error.retryable === false, 'KEY_EXISTS must not be retryable');
    const described = await provider.describeKey(first.ref);
    check(
      described.keyId === first.keyId && described.state === 'ENABLED',
      `after the refused createKey, ${first.ref} is key ${described.keyId} (${described.state}), not ${first.keyId} (ENABLED)`,
    );
  });
}
