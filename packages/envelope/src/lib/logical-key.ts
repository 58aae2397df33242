import type { KeyVersion } from './key-version.js';

/** A logical key: its versions in configuration order and the active one. */
export class LogicalKey {
  readonly name: string;
  readonly active: KeyVersion;
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
    enforcement: 'error' | 'warn';
    warnBeforeDays: number;
    description: string | undefined;
    declared: boolean;
  }) {
    this.name = options.name;
    this.#versions = new Map(options.versions.map((version) => [version.info.id, version]));
    this.active = options.active;
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
}
