import type { KeyObject } from 'node:crypto';
import {
  type Capabilities,
  isKeyswitchError,
  type KeyDescription,
  type KeyProvider,
  type KeySpec,
  type KeyUsage,
} from '@keyswitch/core';
import type { CleanedKey, CleanupReport, GroupId, KeyImporter, KeyPurpose, KeyRefs } from '../options.js';
import { describeError } from './assertions.js';
import { checkDescription } from './key-checks.js';
import { generateNodeKey, nodePublicKey } from './node-crypto.js';
import { CheckFailed, NotRun, NotSupported } from './outcomes.js';

function bounded(text: string): string {
  return text.length > MAX_PROBLEM_CHARS ? `${text.slice(0, MAX_PROBLEM_CHARS)}…` : text;
}

/** A key a check runs against. */
export interface PreparedKey {
  readonly ref: string;
  readonly spec: KeySpec;
  readonly usage: KeyUsage;
  readonly description: KeyDescription;
  /** For a key the suite imported: the node:crypto key it imported (private or secret). */
  readonly material?: KeyObject;
  /** The key's public key, exported through the provider and loaded into node:crypto (RSA and EC). */
  publicKey(): Promise<KeyObject>;
}

/** Where a pool gets keys and what it labels them. */
export interface KeyPoolOptions {
  readonly provider: KeyProvider;
  readonly capabilities: Capabilities;
  readonly group: GroupId | 'compare';
  /** `<label>-<runId>`: every key the pool makes is labelled `<labelPrefix>-<group>-<n>`. */
  readonly labelPrefix: string;
  readonly keys?: KeyRefs | undefined;
  readonly importKey?: KeyImporter | undefined;
}

/**
 * The tag on every key the suite creates: `<labelPrefix>-<group>`. Cleanup finds a group's keys by it (and
 * by their labels), so that a key whose create answer was lost is cleaned up too.
 */
export const CONFORMANCE_RUN_TAG = 'keyswitch:conformance-run';

/** How long one cleanup error may be in a report. */
const MAX_PROBLEM_CHARS = 300;

interface MadeKey {
  readonly ref: string;
  readonly label: string;
  readonly spec: KeySpec;
  readonly usage: KeyUsage;
  scheduled?: Date;
}

/**
 * The keys one group runs against: created once (or taken from the pre-provisioned ones, or imported) and
 * shared by the group's checks; every key it made is scheduled for deletion by {@link KeyPool.cleanup}.
 */
export class KeyPool {
  readonly #options: KeyPoolOptions;
  readonly #keys = new Map<string, Promise<PreparedKey>>();
  readonly #made: MadeKey[] = [];
  #counter = 0;

  constructor(options: KeyPoolOptions) {
    this.#options = options;
  }

  /** Whether the pool creates keys (no pre-provisioned keys were given). */
  get creates(): boolean {
    return this.#options.keys === undefined;
  }

  /** Whether the provider's manifest declares keys of this spec and usage. */
  holds(spec: KeySpec, usage: KeyUsage): boolean {
    return this.#options.capabilities.keySpecs[spec]?.usages.includes(usage) === true;
  }

  /** The value of {@link CONFORMANCE_RUN_TAG} on this pool's keys. */
  get #runTag(): string {
    return `${this.#options.labelPrefix}-${this.#options.group}`;
  }

  /** A fresh label carrying the run id. */
  nextLabel(): string {
    this.#counter += 1;
    return `${this.#options.labelPrefix}-${this.#options.group}-${this.#counter}`;
  }

  /**
   * The `index`-th key of this spec and usage, created on first use and then shared.
   *
   * @throws NotSupported when the manifest does not declare such keys (after checking that createKey
   * refuses them with UNSUPPORTED_ALGORITHM); NotRun when the key is neither given nor creatable.
   */
  key(spec: KeySpec, usage: KeyUsage, index = 0): Promise<PreparedKey> {
    return this.#memo(`${spec}:${usage}:${index}`, () => this.#prepare(spec, usage, index));
  }

  /**
   * A key of this spec and usage whose material the suite generated and imported through `importKey`.
   *
   * @throws NotRun without an importer
   */
  imported(spec: KeySpec, usage: KeyUsage): Promise<PreparedKey> {
    return this.#memo(`${spec}:${usage}:imported`, () => this.#import(spec, usage));
  }

  /** Imports the given key material (once per spec and usage): the same key in two providers, for comparisons. */
  importShared(spec: KeySpec, usage: KeyUsage, material: KeyObject): Promise<PreparedKey> {
    return this.#memo(`${spec}:${usage}:shared`, () => this.#import(spec, usage, material));
  }

  /**
   * Creates a key (labelled `label`, a fresh one by default) and checks its description; the key is
   * remembered for cleanup. Used by the pool and by the key creation checks.
   */
  async create(spec: KeySpec, usage: KeyUsage, label = this.nextLabel()): Promise<KeyDescription> {
    const description = await this.#options.provider.createKey({
      spec,
      usage,
      label,
      description: `keyswitch conformance test key (${label}); safe to delete`,
      tags: { [CONFORMANCE_RUN_TAG]: this.#runTag },
    });
    if (typeof description?.ref === 'string') this.#made.push({ ref: description.ref, label, spec, usage });
    checkDescription(
      description,
      { spec, usage },
      this.#options.capabilities,
      `createKey(${spec}, ${usage})`,
    );
    return description;
  }

  /** Records that a check scheduled this key's deletion itself (or, with no date, cancelled it). */
  markScheduled(ref: string, date: Date | undefined): void {
    const made = this.#made.find((key) => key.ref === ref);
    if (!made) return;
    if (date === undefined) delete made.scheduled;
    else made.scheduled = date;
  }

  /**
   * Schedules deletion (shortest declared window) of every key the pool created or imported; where the
   * backend cannot, disables it; reports what it did with each. Never throws.
   */
  async cleanup(): Promise<CleanupReport> {
    const { provider, capabilities, group } = this.#options;
    const keys: CleanedKey[] = [];
    const found = await this.#findUntracked();
    for (const key of [...this.#made, ...found]) {
      const base = {
        ref: key.ref,
        label: key.label,
        spec: key.spec,
        usage: key.usage,
        group,
        ...(found.includes(key) ? { untracked: true as const } : {}),
      };
      if (key.scheduled) {
        keys.push({ ...base, action: 'already-scheduled', deletionDate: key.scheduled.toISOString() });
        continue;
      }
      let problem: string | undefined;
      if (capabilities.operations.scheduleKeyDeletion) {
        try {
          const date = await provider.scheduleKeyDeletion(key.ref, {
            pendingWindowDays: capabilities.deletionWindowDays.min,
          });
          keys.push({ ...base, action: 'scheduled-deletion', deletionDate: date.toISOString() });
          continue;
        } catch (error) {
          problem = `scheduleKeyDeletion failed: ${bounded(describeError(error))}`;
        }
      }
      if (capabilities.operations.disableKey) {
        try {
          await provider.disableKey(key.ref);
          keys.push({ ...base, action: 'disabled', ...(problem === undefined ? {} : { error: problem }) });
          continue;
        } catch (error) {
          const reason = bounded(describeError(error));
          // The same failure twice is said once.
          const again = problem?.endsWith(`: ${reason}`)
            ? 'disableKey failed the same way'
            : `disableKey failed: ${reason}`;
          problem = `${problem === undefined ? '' : `${problem}; `}${again}`;
        }
      }
      keys.push({ ...base, action: 'left', ...(problem === undefined ? {} : { error: problem }) });
    }
    return { keys };
  }

  /**
   * Keys carrying this pool's run tag or labels that the pool does not know it made (a create whose
   * answer was lost), found by listing the backend's keys. Nothing when the backend cannot list keys.
   */
  async #findUntracked(): Promise<MadeKey[]> {
    const { provider, capabilities } = this.#options;
    if (!this.creates || !capabilities.operations.listKeys) return [];
    const known = new Set(this.#made.map((key) => key.ref));
    const labelStart = `${this.#runTag}-`;
    const found: MadeKey[] = [];
    try {
      let nextToken: string | undefined;
      do {
        const page = await provider.listKeys(
          nextToken === undefined ? { limit: 100 } : { limit: 100, nextToken },
        );
        for (const key of page.keys) {
          if (known.has(key.ref) || key.state === 'PENDING_DELETION') continue;
          const label = key.aliases
            .map((alias) => alias.replace(/^alias\//, ''))
            .find((alias) => alias.startsWith(labelStart));
          if (key.tags?.[CONFORMANCE_RUN_TAG] !== this.#runTag && label === undefined) continue;
          found.push({ ref: key.ref, label: label ?? '(none)', spec: key.spec, usage: key.usage });
        }
        nextToken = page.nextToken;
      } while (nextToken !== undefined);
    } catch {
      // Listing is a safety net; the keys the pool knows it made are still cleaned up.
    }
    return found;
  }

  #memo(id: string, make: () => Promise<PreparedKey>): Promise<PreparedKey> {
    let key = this.#keys.get(id);
    if (!key) {
      key = make();
      key.catch(() => {});
      this.#keys.set(id, key);
    }
    return key;
  }

  async #prepare(spec: KeySpec, usage: KeyUsage, index: number): Promise<PreparedKey> {
    const { provider, capabilities, keys } = this.#options;
    const purpose: KeyPurpose = `${spec}:${usage}`;
    if (!this.holds(spec, usage)) {
      if (!this.creates) throw new NotSupported(`${purpose} keys are not in the capability manifest`);
      await this.#expectCreateRefused(spec, usage);
      throw new NotSupported(
        `${purpose} keys are not in the capability manifest; createKey refuses them with UNSUPPORTED_ALGORITHM`,
      );
    }
    const given = keys?.[purpose];
    const ref = typeof given === 'string' ? (index === 0 ? given : undefined) : given?.[index];
    if (ref !== undefined) {
      const description = await provider.describeKey(ref);
      checkDescription(description, { spec, usage }, capabilities, `keys['${purpose}'] (${ref})`);
      return this.#prepared(description);
    }
    if (!this.creates) {
      const which = index === 0 ? 'a key' : `a key #${index + 1}`;
      throw new NotRun(`needs ${which} for ${purpose}: name it in keys['${purpose}']`);
    }
    if (!capabilities.operations.createKey || !capabilities.keySpecs[spec]?.create) {
      await this.#expectCreateRefused(spec, usage);
      throw new NotSupported(
        `the backend holds ${purpose} keys but does not create them (createKey refuses with UNSUPPORTED_ALGORITHM); pass keys['${purpose}'] to check them`,
      );
    }
    return this.#prepared(await this.create(spec, usage));
  }

  async #expectCreateRefused(spec: KeySpec, usage: KeyUsage): Promise<void> {
    try {
      await this.create(spec, usage);
    } catch (error) {
      // A spec the backend cannot create is UNSUPPORTED_ALGORITHM; no key creation at all, UNSUPPORTED_OPERATION.
      if (isKeyswitchError(error, 'UNSUPPORTED_ALGORITHM', 'UNSUPPORTED_OPERATION')) return;
      throw new CheckFailed(
        `createKey(${spec}, ${usage}) is not declared, so it must fail with UNSUPPORTED_ALGORITHM or UNSUPPORTED_OPERATION; got ${describeError(error)}`,
      );
    }
    throw new CheckFailed(
      `createKey(${spec}, ${usage}) succeeded though the capability manifest does not declare it`,
    );
  }

  async #import(spec: KeySpec, usage: KeyUsage, material?: KeyObject): Promise<PreparedKey> {
    const { provider, capabilities, importKey } = this.#options;
    if (!importKey) {
      throw new NotRun(
        'needs an importKey option: node:crypto cannot use a key whose material only the backend holds',
      );
    }
    if (!this.holds(spec, usage))
      throw new NotSupported(`${spec}:${usage} keys are not in the capability manifest`);
    const key = material ?? (await generateNodeKey(spec));
    const label = this.nextLabel();
    let imported: string | KeyDescription;
    try {
      imported = await importKey(provider, { spec, usage, key, label });
    } catch (error) {
      if (isKeyswitchError(error, 'UNSUPPORTED_ALGORITHM', 'UNSUPPORTED_OPERATION')) {
        throw new NotRun(`the importer cannot import ${spec}:${usage} keys: ${error.message}`);
      }
      throw error;
    }
    const description = typeof imported === 'string' ? await provider.describeKey(imported) : imported;
    if (typeof description?.ref === 'string') this.#made.push({ ref: description.ref, label, spec, usage });
    checkDescription(description, { spec, usage }, capabilities, `imported ${spec}:${usage} key`);
    return this.#prepared(description, key);
  }

  #prepared(description: KeyDescription, material?: KeyObject): PreparedKey {
    const { provider } = this.#options;
    let publicKey: Promise<KeyObject> | undefined;
    return {
      ref: description.ref,
      spec: description.spec,
      usage: description.usage,
      description,
      ...(material === undefined ? {} : { material }),
      publicKey() {
        publicKey ??= provider.getPublicKey(description.ref).then((exported) => {
          if (exported.keySpec !== description.spec) {
            throw new CheckFailed(
              `getPublicKey returned a ${exported.keySpec} key for a ${description.spec} key`,
            );
          }
          return nodePublicKey(exported.spki);
        });
        return publicKey;
      },
    };
  }
}
