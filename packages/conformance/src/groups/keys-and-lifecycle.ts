import { setTimeout as delay } from 'node:timers/promises';
import {
  algorithmsFor,
  type Capabilities,
  isAlgorithm,
  isKeySpec,
  isKeyUsage,
  KEY_SPECS,
  type KeyDescription,
  type KeyProvider,
  type KeySpec,
  type KeyUsage,
  keySpecInfo,
  type SigningAlgorithm,
  utf8,
} from '@keyswitch/core';
import { check, expectCode } from '../lib/assertions.js';
import { declaredAlgorithm, exerciseKey } from '../lib/exercise-key.js';
import { defineGroup, type Session } from '../lib/group.js';
import { checkDescription } from '../lib/key-checks.js';
import { NotRun, NotSupported } from '../lib/outcomes.js';
import { resolveSuiteOptions } from '../lib/suite-options.js';
import type { SuiteOptions } from '../options.js';

const DAY_MS = 86_400_000;

/** Keys the lifecycle checks prefer to disable and delete: cheap to create, easy to exercise. */
const LIFECYCLE_CANDIDATES: ReadonlyArray<readonly [KeySpec, KeyUsage]> = [
  ['SYMMETRIC_DEFAULT', 'ENCRYPT_DECRYPT'],
  ['ECC_NIST_P256', 'SIGN_VERIFY'],
  ['HMAC_256', 'GENERATE_VERIFY_MAC'],
  ['ECC_NIST_P256', 'KEY_AGREEMENT'],
  ...KEY_SPECS.flatMap((spec) => keySpecInfo(spec).usages.map((usage) => [spec, usage] as const)),
];

/**
 * The keys and lifecycle group: the capability manifest is consistent; for every key spec and usage,
 * created keys (or the pre-provisioned ones) are described correctly, carry the run id in their label,
 * and export a public key of their spec; listKeys pages through them; disable makes operations fail with
 * KEY_DISABLED, enable restores them, a key scheduled for deletion is PENDING_DELETION and refuses
 * operations with KEY_DISABLED, and cancelling the deletion brings it back DISABLED. A key disabled by a
 * second instance (from `createProvider`) is refused once the manifest's `sharedKeys.keyStateTtlMs` has
 * passed: the check waits that long (at most 10 s) and asserts the outcome, never a duration.
 *
 * @example
 * ```ts
 * keysAndLifecycleTests({ describe, it, beforeAll, afterAll, createProvider: () => SoftHsm.open() });
 * ```
 */
export function keysAndLifecycleTests(options: SuiteOptions): void {
  const resolved = resolveSuiteOptions(options);
  defineGroup(resolved, 'keys', 'keys and lifecycle', [], (group) => {
    const test = group.test;

    test('the capability manifest is consistent', async (session) => checkManifest(session.capabilities));

    for (const spec of KEY_SPECS) {
      for (const usage of keySpecInfo(spec).usages) {
        test(`${spec} key for ${usage}: created, described, public key exported`, async (session) => {
          const key = await session.pool.key(spec, usage);
          const described = await session.provider.describeKey(key.ref);
          checkDescription(described, { spec, usage }, session.capabilities, 'describeKey');
          check(
            described.keyId === key.description.keyId,
            `describeKey gives keyId ${described.keyId}, createKey gave ${key.description.keyId}`,
          );
          if (session.pool.creates) {
            const runId = session.options.runId;
            check(
              key.ref.includes(runId) || key.description.aliases.some((alias) => alias.includes(runId)),
              `the key's ref and aliases must carry the run id ${runId}, so that leftover keys can be found`,
            );
          }
          const family = keySpecInfo(spec).family;
          if (family === 'RSA' || family === 'EC') {
            const details = (await key.publicKey()).asymmetricKeyDetails;
            if (family === 'RSA')
              check(
                details?.modulusLength === keySpecInfo(spec).bits,
                `the public key has ${details?.modulusLength} bits`,
              );
            else
              check(
                details?.namedCurve === keySpecInfo(spec).namedCurve,
                `the public key is on ${details?.namedCurve}`,
              );
          } else {
            await expectCode(
              () => session.provider.getPublicKey(key.ref),
              'USAGE_MISMATCH',
              `getPublicKey of a ${spec} key`,
            );
          }
        });
      }
    }

    test('listKeys pages through the keys, including those the suite made', async (session) => {
      const key = await listedKey(session);
      await session.requireOperation('listKeys', () => session.provider.listKeys({ limit: 1 }));
      let nextToken: string | undefined;
      let found = false;
      let total = 0;
      for (let page = 0; page < 200; page++) {
        const listed = await session.provider.listKeys({
          limit: 50,
          ...(nextToken === undefined ? {} : { nextToken }),
        });
        check(listed.keys.length <= 50, `listKeys({ limit: 50 }) returned ${listed.keys.length} keys`);
        for (const entry of listed.keys) {
          check(
            isKeySpec(entry.spec) && isKeyUsage(entry.usage),
            `listKeys returned a key with spec ${entry.spec}, usage ${entry.usage}`,
          );
          if (entry.ref === key.ref || entry.keyId === key.description.keyId) found = true;
        }
        total += listed.keys.length;
        nextToken = listed.nextToken;
        if (nextToken === undefined) break;
      }
      check(found, `listKeys did not list the key ${key.ref}`);
      const first = await session.provider.listKeys({ limit: 1 });
      check(first.keys.length === 1, `listKeys({ limit: 1 }) returned ${first.keys.length} keys`);
      if (total > 1) {
        check(
          first.nextToken !== undefined,
          'listKeys({ limit: 1 }) gave no nextToken, though there are more keys',
        );
        const second = await session.provider.listKeys({ limit: 1, nextToken: first.nextToken });
        check(
          second.keys.length === 1 && second.keys[0]!.keyId !== first.keys[0]!.keyId,
          'the page after nextToken does not hold the next key',
        );
      }
    });

    test('disableKey: the key is DISABLED and operations fail with KEY_DISABLED', async (session) => {
      const key = await lifecycleKey(session);
      await session.requireOperation('disableKey', () => session.provider.disableKey(key.ref));
      await session.provider.disableKey(key.ref);
      await expectState(session, key, 'DISABLED');
      await expectCode(
        () => exerciseKey(session.provider, key, session.capabilities),
        'KEY_DISABLED',
        'an operation with a disabled key',
      );
    });

    test('enableKey: the key is ENABLED and works again', async (session) => {
      const key = await lifecycleKey(session);
      await session.requireOperation('enableKey', () => session.provider.enableKey(key.ref));
      if (!session.capabilities.operations.disableKey)
        throw new NotRun('needs disableKey, to have a disabled key to enable');
      if ((await session.provider.describeKey(key.ref)).state !== 'DISABLED')
        await session.provider.disableKey(key.ref);
      await session.provider.enableKey(key.ref);
      await expectState(session, key, 'ENABLED');
      await exerciseKey(session.provider, key, session.capabilities);
    });

    test('scheduleKeyDeletion: the key is PENDING_DELETION and operations fail with KEY_DISABLED', async (session) => {
      const key = await lifecycleKey(session);
      const window = session.capabilities.deletionWindowDays;
      const schedule = (pendingWindowDays: number) =>
        session.provider.scheduleKeyDeletion(key.ref, { pendingWindowDays });
      await session.requireOperation('scheduleKeyDeletion', async () =>
        session.pool.markScheduled(key.ref, await schedule(window.min)),
      );
      for (const days of [window.min - 1, window.max + 1]) {
        await expectCode(
          () => schedule(days),
          'INVALID_INPUT',
          `scheduleKeyDeletion with ${days} days (the window is ${window.min} to ${window.max})`,
        );
      }
      const before = Date.now();
      const date = await schedule(window.min);
      session.pool.markScheduled(key.ref, date);
      check(
        date instanceof Date && !Number.isNaN(date.getTime()),
        'scheduleKeyDeletion must return the deletion date',
      );
      const expected = before + window.min * DAY_MS;
      check(
        Math.abs(date.getTime() - expected) <= DAY_MS,
        `the deletion date ${date.toISOString()} is not ${window.min} days from now`,
      );
      const described = await expectState(session, key, 'PENDING_DELETION');
      if (described.deletionDate !== undefined) {
        check(
          Math.abs(described.deletionDate.getTime() - date.getTime()) <= DAY_MS,
          'describeKey gives another deletion date',
        );
      }
      await expectCode(
        () => exerciseKey(session.provider, key, session.capabilities),
        'KEY_DISABLED',
        'an operation with a key pending deletion',
      );
    });

    test('cancelKeyDeletion: the key comes back DISABLED, and enableKey makes it usable', async (session) => {
      const key = await lifecycleKey(session);
      const { provider, capabilities } = session;
      await session.requireOperation('cancelKeyDeletion', () => provider.cancelKeyDeletion(key.ref));
      if (!capabilities.operations.scheduleKeyDeletion)
        throw new NotRun('needs scheduleKeyDeletion, to have a deletion to cancel');
      if ((await provider.describeKey(key.ref)).state !== 'PENDING_DELETION') {
        session.pool.markScheduled(
          key.ref,
          await provider.scheduleKeyDeletion(key.ref, {
            pendingWindowDays: capabilities.deletionWindowDays.min,
          }),
        );
      }
      await provider.cancelKeyDeletion(key.ref);
      session.pool.markScheduled(key.ref, undefined);
      const described = await expectState(session, key, 'DISABLED');
      check(
        described.deletionDate === undefined,
        'a key whose deletion was cancelled still has a deletion date',
      );
      await expectCode(
        () => exerciseKey(provider, key, capabilities),
        'KEY_DISABLED',
        'an operation after cancelKeyDeletion, before enableKey',
      );
      if (!capabilities.operations.enableKey) return;
      await provider.enableKey(key.ref);
      await exerciseKey(provider, key, capabilities);
    });

    test('disableKey elsewhere: another instance disables the key, and this one refuses it with KEY_DISABLED within its key-state TTL', async (session) => {
      const { provider, capabilities } = session;
      const shared = capabilities.sharedKeys;
      if (shared === undefined) {
        throw new NotSupported(
          'the manifest declares no sharedKeys: instances of this provider do not work on the same keys, so a disable made by another cannot be checked',
        );
      }
      const ttl = shared.keyStateTtlMs;
      check(
        Number.isInteger(ttl) && ttl >= 0,
        `sharedKeys.keyStateTtlMs must be a whole number of milliseconds, got ${ttl}`,
      );
      if (!capabilities.operations.disableKey) throw new NotSupported('needs disableKey');
      if (ttl > MAX_KEY_STATE_WAIT_MS) {
        throw new NotRun(
          `the provider trusts what it knows of a key's state for ${ttl} ms; open it with a key-state TTL of at most ${MAX_KEY_STATE_WAIT_MS} ms to run this check`,
        );
      }
      const key = await elsewhereKey(session);
      // This instance uses the key first, so that whatever it caches about the key is cached.
      const used = await useKey(provider, key, capabilities);
      const other = await session.freshProvider();
      try {
        const seen = await other.describeKey(key.ref).catch((error: unknown) => error);
        check(
          !(seen instanceof Error),
          `the manifest declares sharedKeys, but another instance cannot describe the key ${key.ref}: ${seen instanceof Error ? seen.message : ''}`,
        );
        await other.disableKey(key.ref);
        // No duration is measured: the outcome is checked once the declared TTL has passed.
        await delay(ttl);
        const after = `${ttl} ms (its key-state TTL) after another instance disabled the key`;
        await expectCode(
          () => exerciseKey(provider, key, capabilities),
          'KEY_DISABLED',
          `an operation ${after}`,
        );
        if (used.verify) await expectCode(used.verify, 'KEY_DISABLED', `a verification ${after}`);
      } finally {
        // Leave the key as it was found (a pre-provisioned lifecycle key is used again by later runs).
        if (capabilities.operations.enableKey) await other.enableKey(key.ref).catch(() => undefined);
        await other.close();
      }
    });
  });
}

/** How long the check of a disable made elsewhere waits, at most, for the key-state TTL to pass. */
const MAX_KEY_STATE_WAIT_MS = 10_000;

/**
 * Uses the key once (a signing key signs and verifies, so a provider that verifies locally caches the
 * public key) and returns the verification to repeat, when there is one.
 */
async function useKey(
  provider: KeyProvider,
  key: LifecycleKey,
  capabilities: Capabilities,
): Promise<{ verify?: () => Promise<unknown> }> {
  const signature = await exerciseKey(provider, key, capabilities);
  const algorithm = declaredAlgorithm(capabilities, key.spec, key.usage);
  if (key.usage !== 'SIGN_VERIFY' || !(signature instanceof Uint8Array) || algorithm === undefined) return {};
  const request = {
    ref: key.ref,
    algorithm: algorithm as SigningAlgorithm,
    message: utf8('keyswitch conformance'),
    signature,
  };
  check(await provider.verify(request), 'the key does not verify its own signature');
  return { verify: () => provider.verify(request) };
}

/**
 * The key another instance disables: `keys.lifecycle` (enabled first when it is not), or one the suite
 * creates for it, a signing key where the backend creates one, so that a verification is checked too.
 */
async function elsewhereKey(session: Session): Promise<LifecycleKey> {
  if (session.options.keys !== undefined) {
    const key = await lifecycleKey(session);
    if (key.description.state !== 'ENABLED') {
      if (key.description.state === 'PENDING_DELETION') await session.provider.cancelKeyDeletion(key.ref);
      await session.provider.enableKey(key.ref);
    }
    return key;
  }
  const { capabilities } = session;
  const creatable = ([spec, usage]: readonly [KeySpec, KeyUsage]) =>
    capabilities.operations.createKey &&
    capabilities.keySpecs[spec]?.create === true &&
    session.pool.holds(spec, usage) &&
    declaredAlgorithm(capabilities, spec, usage) !== undefined;
  const candidate =
    LIFECYCLE_CANDIDATES.find((entry) => entry[1] === 'SIGN_VERIFY' && creatable(entry)) ??
    LIFECYCLE_CANDIDATES.find(creatable);
  if (!candidate)
    throw new NotRun('needs a key to disable, and the backend creates none: pass keys.lifecycle');
  // Index 2: a key of its own, not the creation check's (0) nor the lifecycle checks' (1).
  return session.pool.key(candidate[0], candidate[1], 2);
}

interface LifecycleKey {
  readonly ref: string;
  readonly spec: KeySpec;
  readonly usage: KeyUsage;
  readonly description: KeyDescription;
}

/** A key listKeys must list: the first pre-provisioned one, or the lifecycle key the suite creates. */
async function listedKey(session: Session): Promise<LifecycleKey> {
  const keys = session.options.keys;
  if (keys === undefined) return lifecycleKey(session);
  const given = Object.values(keys)[0];
  const ref = typeof given === 'string' ? given : given?.[0];
  if (ref === undefined) throw new NotRun('needs a pre-provisioned key to look for');
  const description = await session.provider.describeKey(ref);
  return { ref, spec: description.spec, usage: description.usage, description };
}

/** The key the lifecycle checks disable and delete: `keys.lifecycle`, or one the suite creates for it. */
async function lifecycleKey(session: Session): Promise<LifecycleKey> {
  const given = session.options.keys?.lifecycle;
  if (session.options.keys !== undefined) {
    const ref = typeof given === 'string' ? given : given?.[0];
    if (ref === undefined)
      throw new NotRun('needs keys.lifecycle: a key the suite may disable, enable and schedule for deletion');
    const description = await session.provider.describeKey(ref);
    return { ref, spec: description.spec, usage: description.usage, description };
  }
  const { capabilities } = session;
  const candidate = LIFECYCLE_CANDIDATES.find(
    ([spec, usage]) =>
      capabilities.operations.createKey &&
      capabilities.keySpecs[spec]?.create === true &&
      session.pool.holds(spec, usage) &&
      declaredAlgorithm(capabilities, spec, usage) !== undefined,
  );
  if (!candidate)
    throw new NotRun('needs a key to disable and delete, and the backend creates none: pass keys.lifecycle');
  // Index 1: a key of its own, not the one the creation check describes.
  return session.pool.key(candidate[0], candidate[1], 1);
}

async function expectState(
  session: Session,
  key: LifecycleKey,
  state: KeyDescription['state'],
): Promise<KeyDescription> {
  const described = await session.provider.describeKey(key.ref);
  checkDescription(
    described,
    { spec: key.spec, usage: key.usage, state },
    session.capabilities,
    'describeKey',
  );
  return described;
}

function checkManifest(capabilities: Capabilities): void {
  const held: Array<[KeySpec, KeyUsage]> = [];
  for (const [spec, support] of Object.entries(capabilities.keySpecs)) {
    check(isKeySpec(spec), `keySpecs declares an unknown key spec ${spec}`);
    check(
      support && Array.isArray(support.usages) && support.usages.length > 0,
      `keySpecs.${spec} declares no usages`,
    );
    for (const usage of support.usages) {
      check(
        keySpecInfo(spec).usages.includes(usage),
        `keySpecs.${spec} declares usage ${usage}, which a ${spec} key cannot have`,
      );
      held.push([spec, usage]);
    }
    check(typeof support.create === 'boolean', `keySpecs.${spec}.create must be a boolean`);
    check(
      !support.create || capabilities.operations.createKey,
      `keySpecs.${spec}.create is true but operations.createKey is false`,
    );
  }
  check(Array.isArray(capabilities.algorithms), 'algorithms must be an array');
  check(
    new Set(capabilities.algorithms).size === capabilities.algorithms.length,
    'algorithms lists an algorithm twice',
  );
  for (const algorithm of capabilities.algorithms) {
    check(isAlgorithm(algorithm), `algorithms declares an unknown algorithm ${algorithm}`);
    check(
      held.some(([spec, usage]) => algorithmsFor(spec, usage).includes(algorithm)),
      `${algorithm} is declared, but no declared key spec can use it`,
    );
  }
  for (const operation of [
    'createKey',
    'enableKey',
    'disableKey',
    'scheduleKeyDeletion',
    'listKeys',
    'generateDataKey',
    'generateRandom',
  ] as const) {
    check(
      typeof capabilities.operations[operation] === 'boolean',
      `operations.${operation} must be a boolean`,
    );
  }
  const cancel = capabilities.operations.cancelKeyDeletion;
  check(
    cancel === undefined || typeof cancel === 'boolean',
    'operations.cancelKeyDeletion must be a boolean when given',
  );
  check(
    !capabilities.operations.generateDataKey || capabilities.algorithms.includes('SYMMETRIC_DEFAULT'),
    'operations.generateDataKey is true but SYMMETRIC_DEFAULT is not declared',
  );
  const { min, max } = capabilities.deletionWindowDays;
  check(
    Number.isInteger(min) && Number.isInteger(max) && min >= 0 && min <= max,
    `deletionWindowDays ${min} to ${max} is not a window`,
  );
}
