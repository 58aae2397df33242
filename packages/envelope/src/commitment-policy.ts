import { KeyswitchError } from '@keyswitch/core';

/**
 * Which envelope formats a keyring decrypts, named after the AWS Encryption SDK's commitment policies (new
 * envelopes are always format 2, which commits to its data key):
 *
 * - `REQUIRE_ENCRYPT_ALLOW_DECRYPT` (the default) also opens format 1, which does not commit;
 * - `REQUIRE_ENCRYPT_REQUIRE_DECRYPT` refuses format 1 with INVALID_CIPHERTEXT, in decryption and in
 *   `rewrap` alike: set it once `rewrap` has migrated stored data.
 *
 * @example
 * ```ts
 * const keyring = Keyring.create(ks, { commitmentPolicy: 'REQUIRE_ENCRYPT_REQUIRE_DECRYPT' });
 * ```
 */
export type CommitmentPolicy = 'REQUIRE_ENCRYPT_ALLOW_DECRYPT' | 'REQUIRE_ENCRYPT_REQUIRE_DECRYPT';

const POLICIES: readonly string[] = ['REQUIRE_ENCRYPT_ALLOW_DECRYPT', 'REQUIRE_ENCRYPT_REQUIRE_DECRYPT'];

/**
 * @internal Whether format 1 envelopes open under `policy` (the default allows them).
 *
 * @throws CONFIG_INVALID at `commitmentPolicy` for another value
 */
export function opensFormat1Under(policy: CommitmentPolicy | undefined): boolean {
  const chosen: string = policy ?? 'REQUIRE_ENCRYPT_ALLOW_DECRYPT';
  if (!POLICIES.includes(chosen)) {
    throw new KeyswitchError('CONFIG_INVALID', `commitmentPolicy must be one of ${POLICIES.join(', ')}`, {
      path: 'commitmentPolicy',
    });
  }
  return chosen === 'REQUIRE_ENCRYPT_ALLOW_DECRYPT';
}
