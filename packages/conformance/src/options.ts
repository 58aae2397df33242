import type { KeyObject } from 'node:crypto';
import type { KeyDescription, KeyProvider, KeySpec, KeyUsage } from '@keyswitch/core';

/** The groups of the suite, in the order `conformance()` runs them. */
export type GroupId =
  | 'keys'
  | 'signing'
  | 'encryption'
  | 'mac'
  | 'key-agreement'
  | 'data-keys'
  | 'random'
  | 'errors'
  | 'concurrency';

/**
 * What a pre-provisioned key is for: its key spec and usage, in KMS names (`ECC_NIST_P256:SIGN_VERIFY`).
 * `lifecycle` names a key the suite may disable, enable and schedule for deletion.
 */
export type KeyPurpose = `${KeySpec}:${KeyUsage}` | 'lifecycle';

/**
 * Pre-provisioned keys by purpose, as provider-native references. A list gives the suite a second key of
 * the same purpose (for checks such as "ciphertext of another key fails").
 *
 * @example
 * ```ts
 * const keys: KeyRefs = {
 *   'ECC_NIST_P256:SIGN_VERIFY': 'alias/acs-signing-test',
 *   'SYMMETRIC_DEFAULT:ENCRYPT_DECRYPT': ['alias/kek-test-1', 'alias/kek-test-2'],
 * };
 * ```
 */
export type KeyRefs = Partial<Record<KeyPurpose, string | readonly string[]>>;

/** What the suite asks a {@link KeyImporter} to import. */
export interface KeyImportRequest {
  readonly spec: KeySpec;
  readonly usage: KeyUsage;
  /** A node:crypto private key (RSA, EC) or secret key (AES, HMAC) the suite generated. */
  readonly key: KeyObject;
  /** The label to give the key; it carries the run id. */
  readonly label: string;
}

/**
 * Imports key material the suite generated into the backend, returning the new key's reference (or its
 * description). Optional: with it the suite also checks what needs both sides of a key, such as signatures
 * made by node:crypto verifying through the provider and HMACs equal to node:crypto's. Throwing
 * UNSUPPORTED_ALGORITHM for a spec it cannot import skips those checks for that spec.
 *
 * @example
 * ```ts
 * const importKey: KeyImporter = (hsm, { spec, usage, key, label }) =>
 *   (hsm as SoftHsm).importKey(
 *     key.type === 'secret'
 *       ? { label, usage, spec, raw: key.export() }
 *       : { label, usage, spec, pkcs8: key.export({ format: 'der', type: 'pkcs8' }) },
 *   );
 * ```
 */
export type KeyImporter = (
  provider: KeyProvider,
  request: KeyImportRequest,
) => Promise<string | KeyDescription> | string | KeyDescription;

/**
 * The test functions the suite declares its tests with: vitest's (or anything shaped like them).
 * `beforeAll` and `afterAll` are optional; without them the suite sets up on the first test and cleans up
 * in a last test of each group.
 */
export interface TestApi {
  readonly describe: (name: string, body: () => void) => void;
  readonly it: (name: string, body: (...context: unknown[]) => Promise<void>, timeout?: number) => void;
  readonly beforeAll?: (body: () => Promise<void>, timeout?: number) => void;
  readonly afterAll?: (body: () => Promise<void>, timeout?: number) => void;
}

/** What happened to one key the suite created or imported, at the end of its group. */
export interface CleanedKey {
  readonly ref: string;
  readonly label: string;
  readonly spec: KeySpec;
  readonly usage: KeyUsage;
  /** The suite group that made the key, or `compare` for {@link compareProviders}. */
  readonly group: GroupId | 'compare';
  /**
   * `scheduled-deletion`: the suite scheduled it for deletion (shortest window); `already-scheduled`: a
   * lifecycle check had done so; `disabled`: the backend cannot schedule deletion, so the suite disabled
   * it; `left`: the backend can do neither (or both failed, and `error` says why).
   */
  readonly action: 'scheduled-deletion' | 'already-scheduled' | 'disabled' | 'left';
  /** When the backend will destroy the key, as ISO 8601. */
  readonly deletionDate?: string;
  /** Why scheduling deletion (and then disabling) failed; absent when cleanup worked. */
  readonly error?: string;
  /** The suite found this key by its run tag or label, without having been told it was created. */
  readonly untracked?: true;
}

/** The keys one group (or one run) created, and what was done with each. */
export interface CleanupReport {
  readonly keys: readonly CleanedKey[];
}

/**
 * Options of every suite group.
 *
 * @example
 * ```ts
 * const options: SuiteOptions = {
 *   describe, it, beforeAll, afterAll,
 *   createProvider: () => SoftHsm.open(),
 *   label: 'ci',
 *   onCleanup: (report) => console.log(`${report.keys.length} keys scheduled for deletion`),
 * };
 * signingTests(options);
 * ```
 */
export interface SuiteOptions extends TestApi {
  /** Returns a fresh provider; called once per group (and once more by a few checks that close it). */
  readonly createProvider: () => Promise<KeyProvider> | KeyProvider;
  /**
   * Pre-provisioned keys: when given, the suite creates no keys and runs each check against the key named
   * for its purpose; checks whose purpose has no key are reported as skipped, with the purpose to add.
   */
  readonly keys?: KeyRefs;
  /** Prefix of the labels of keys the suite creates; default `keyswitch-conformance`. */
  readonly label?: string;
  /** Identifies the run in created keys' labels (`<label>-<runId>-<group>-<n>`); generated by default. */
  readonly runId?: string;
  /** Imports suite-generated key material; see {@link KeyImporter}. */
  readonly importKey?: KeyImporter;
  /**
   * A reference the backend has no key for (KEY_NOT_FOUND checks); default: the provider's own
   * `nonexistentKeyRef()`, or `<label>-<runId>-missing` when it cannot name one.
   */
  readonly missingKeyRef?: string;
  /** Time limit of each test and hook, in milliseconds; default 60,000. */
  readonly timeoutMs?: number;
  /** Whether each group closes the provider it made when done; default true. */
  readonly closeProviders?: boolean;
  /** Called after each group's cleanup with what it did. */
  readonly onCleanup?: (report: CleanupReport) => void;
}

/** Options of {@link conformance}: the suite options, and which groups to run (default all). */
export interface ConformanceOptions extends SuiteOptions {
  readonly groups?: readonly GroupId[];
}
