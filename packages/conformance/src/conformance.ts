import { KeyswitchError } from '@keyswitch/core';
import { CONFORMANCE_GROUPS, selectGroups } from './groups.js';
import { resolveSuiteOptions } from './lib/suite-options.js';
import type { ConformanceOptions } from './options.js';

/**
 * Declares the whole conformance suite (or the groups named in `groups`) with your test framework's
 * `describe`/`it`: a backend's own conformance test file is these lines. Each group makes a fresh provider
 * with `createProvider`, reads its capability manifest, checks everything declared, reports what is not
 * declared as skipped ("not supported", after checking it fails with UNSUPPORTED_ALGORITHM), and at the
 * end schedules deletion of every key it created.
 *
 * @throws CONFIG_INVALID for an unknown group, a bad label or run id, or an unknown key purpose
 *
 * @example
 * ```ts
 * import { afterAll, beforeAll, describe, it } from 'vitest';
 * import { conformance } from '@keyswitch/conformance';
 * import { SoftHsm } from '@keyswitch/soft-hsm';
 *
 * conformance({ describe, it, beforeAll, afterAll, createProvider: () => SoftHsm.open() });
 * ```
 */
export function conformance(options: ConformanceOptions): void {
  const unknown = options.groups?.filter((id) => !CONFORMANCE_GROUPS.some((group) => group.id === id)) ?? [];
  if (unknown.length > 0) {
    throw new KeyswitchError('CONFIG_INVALID', `unknown conformance groups: ${unknown.join(', ')}`, {
      path: 'groups',
    });
  }
  const resolved = resolveSuiteOptions(options);
  for (const group of selectGroups(options.groups)) group.declare(resolved);
}
