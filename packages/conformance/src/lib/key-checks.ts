import {
  algorithmsFor,
  type Capabilities,
  type KeyDescription,
  type KeySpec,
  type KeyState,
  type KeyUsage,
} from '@keyswitch/core';
import { check } from './assertions.js';

/** What a key description must say. */
export interface ExpectedKey {
  readonly spec: KeySpec;
  readonly usage: KeyUsage;
  readonly state?: KeyState;
}

/**
 * Checks a KeyDescription: a reference and key id, the expected spec, usage and state (ENABLED unless
 * said), and algorithms that are allowed for the spec and include every declared one that is.
 */
export function checkDescription(
  description: KeyDescription,
  expected: ExpectedKey,
  capabilities: Capabilities,
  what: string,
): void {
  check(typeof description === 'object' && description !== null, `${what}: no key description`);
  check(
    typeof description.ref === 'string' && description.ref.length > 0,
    `${what}: the description has no ref`,
  );
  check(
    typeof description.keyId === 'string' && description.keyId.length > 0,
    `${what}: the description has no keyId`,
  );
  check(Array.isArray(description.aliases), `${what}: aliases must be an array`);
  check(
    description.spec === expected.spec,
    `${what}: spec is ${description.spec}, expected ${expected.spec}`,
  );
  check(
    description.usage === expected.usage,
    `${what}: usage is ${description.usage}, expected ${expected.usage}`,
  );
  const state = expected.state ?? 'ENABLED';
  check(description.state === state, `${what}: state is ${description.state}, expected ${state}`);
  const allowed = algorithmsFor(expected.spec, expected.usage);
  check(Array.isArray(description.algorithms), `${what}: algorithms must be an array`);
  const foreign = description.algorithms.filter((algorithm) => !allowed.includes(algorithm));
  check(
    foreign.length === 0,
    `${what}: algorithms ${foreign.join(', ')} are not allowed for a ${expected.spec} key`,
  );
  const missing = allowed.filter(
    (algorithm) => capabilities.algorithms.includes(algorithm) && !description.algorithms.includes(algorithm),
  );
  check(
    missing.length === 0,
    `${what}: declared algorithms ${missing.join(', ')} are missing from the key's algorithms`,
  );
}
