import { KeyswitchError } from '@keyswitch/core';
import { concurrencyTests } from './groups/concurrency.js';
import { dataKeyTests } from './groups/data-keys.js';
import { encryptionTests } from './groups/encryption.js';
import { errorTests } from './groups/errors.js';
import { keyAgreementTests } from './groups/key-agreement.js';
import { keysAndLifecycleTests } from './groups/keys-and-lifecycle.js';
import { macTests } from './groups/mac.js';
import { randomTests } from './groups/random.js';
import { signingTests } from './groups/signing.js';
import type { GroupId, SuiteOptions } from './options.js';

/** One group of the suite: its id (as in reports and the `groups` option), title, and declaring function. */
export interface ConformanceGroup {
  readonly id: GroupId;
  readonly title: string;
  readonly declare: (options: SuiteOptions) => void;
}

/**
 * Every group of the suite, in the order they run.
 *
 * @example
 * ```ts
 * CONFORMANCE_GROUPS.map((group) => group.id); // ['keys', 'signing', …, 'concurrency']
 * ```
 */
export const CONFORMANCE_GROUPS: readonly ConformanceGroup[] = [
  { id: 'keys', title: 'keys and lifecycle', declare: keysAndLifecycleTests },
  { id: 'signing', title: 'signing', declare: signingTests },
  { id: 'encryption', title: 'encryption', declare: encryptionTests },
  { id: 'mac', title: 'MAC', declare: macTests },
  { id: 'key-agreement', title: 'key agreement', declare: keyAgreementTests },
  { id: 'data-keys', title: 'data keys', declare: dataKeyTests },
  { id: 'random', title: 'random', declare: randomTests },
  { id: 'errors', title: 'errors', declare: errorTests },
  { id: 'concurrency', title: 'concurrency', declare: concurrencyTests },
];

/** The groups named by `ids` (all when undefined), in suite order; unknown ids throw CONFIG_INVALID. */
export function selectGroups(ids: readonly GroupId[] | undefined): readonly ConformanceGroup[] {
  if (ids === undefined) return CONFORMANCE_GROUPS;
  const known = CONFORMANCE_GROUPS.map((group) => group.id);
  const unknown = ids.filter((id) => !known.includes(id));
  if (unknown.length > 0) {
    throw new KeyswitchError(
      'CONFIG_INVALID',
      `unknown conformance group ${unknown.map((id) => `"${id}"`).join(', ')}; expected ${known.join(', ')}`,
    );
  }
  return CONFORMANCE_GROUPS.filter((group) => ids.includes(group.id));
}
