import type { WrappedDataKey } from '../format/envelope.js';
import type { KeyVersion } from './key-version.js';

/** A wrapped data key in an envelope, and the configured version that can open it. */
export interface UnwrapCandidate {
  readonly version: KeyVersion;
  readonly wrappedDataKey: Uint8Array;
}

/**
 * A logical key: its versions in configuration order, the one new data goes under (`active`), and the
 * versions that wrap each new data key. For a key with versions that is the active one alone; for a
 * multi-keyring it is every current member, the first (the generator) making the data key.
 */
export class LogicalKey {
  readonly name: string;
  readonly active: KeyVersion;
  /** The versions each new data key is wrapped under, `active` first. */
  readonly wrappers: readonly KeyVersion[];
  /** For a multi-keyring: how long each member may take to open a data key, in milliseconds. */
  readonly timeoutMs: number | undefined;
  readonly enforcement: 'error' | 'warn';
  readonly warnBeforeDays: number;
  readonly description: string | undefined;
  /** Whether it was declared with versions (rather than a plain key of the keyswitch configuration). */
  readonly declared: boolean;
  readonly #versions: ReadonlyMap<string, KeyVersion>;

  constructor(options: {
    name: string;
    versions: readonly KeyVersion[];
    active: KeyVersion;
    wrappers?: readonly KeyVersion[];
    timeoutMs?: number | undefined;
    enforcement: 'error' | 'warn';
    warnBeforeDays: number;
    description: string | undefined;
    declared: boolean;
  }) {
    this.name = options.name;
    this.#versions = new Map(options.versions.map((version) => [version.info.id, version]));
    this.active = options.active;
    this.wrappers = options.wrappers ?? [options.active];
    this.timeoutMs = options.timeoutMs;
    this.enforcement = options.enforcement;
    this.warnBeforeDays = options.warnBeforeDays;
    this.description = options.description;
    this.declared = options.declared;
  }

  version(id: string): KeyVersion | undefined {
    return this.#versions.get(id);
  }

  versions(): KeyVersion[] {
    return [...this.#versions.values()];
  }

  versionIds(): string[] {
    return [...this.#versions.keys()];
  }

  /**
   * The envelope's wrapped data keys this key can open, in the configured order (a multi-keyring's member
   * order, its retired members last); entries naming versions that are not configured are left out.
   */
  unwrapCandidates(wrappedKeys: readonly WrappedDataKey[]): UnwrapCandidate[] {
    const byId = new Map(wrappedKeys.map((entry) => [entry.keyVersion, entry.wrappedDataKey]));
    const out: UnwrapCandidate[] = [];
    for (const [id, version] of this.#versions) {
      const wrappedDataKey = byId.get(id);
      if (wrappedDataKey !== undefined) out.push({ version, wrappedDataKey });
    }
    return out;
  }
}
