import { readFile, rename, writeFile } from 'node:fs/promises';
import { KeyswitchError } from '@keyswitch/core';
import type { KeyRegistry, LocalAlias } from './key-registry.js';

interface StoredAlias {
  readonly aliasName: string;
  readonly accountId: string;
  readonly keyId: string;
  readonly createdAt: string;
  readonly updatedAt: string;
}

/**
 * Keeps kms-local's aliases in a JSON file, so that a kms-local backed by a keystore finds its aliases
 * again after a restart (the keys come back from the keystore with their key ids). Each change rewrites the
 * file whole: written beside it, then renamed over it, so a crash leaves the old file or the new one.
 */
export class AliasFile {
  readonly #path: string;
  #writing: Promise<void> = Promise.resolve();

  constructor(path: string) {
    this.#path = path;
  }

  /**
   * Puts the aliases of the file into the registry, for keys the registry holds; a missing file is an
   * empty one.
   *
   * @throws CONFIG_INVALID for a file that cannot be read or is not kms-local's alias file
   */
  async load(registry: KeyRegistry): Promise<number> {
    let text: string;
    try {
      text = await readFile(this.#path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      throw new KeyswitchError('CONFIG_INVALID', `kms-local cannot read its alias file ${this.#path}`, {
        provider: 'kms-local',
        cause: error,
      });
    }
    let stored: StoredAlias[];
    try {
      const parsed = JSON.parse(text) as { version?: unknown; aliases?: unknown };
      if (parsed.version !== 1 || !Array.isArray(parsed.aliases)) throw new Error('not version 1');
      stored = parsed.aliases as StoredAlias[];
    } catch {
      throw new KeyswitchError('CONFIG_INVALID', `${this.#path} is not a kms-local alias file`, {
        provider: 'kms-local',
      });
    }
    let count = 0;
    for (const alias of stored) {
      if (typeof alias?.aliasName !== 'string' || typeof alias.keyId !== 'string') continue;
      if (!registry.byKeyId(alias.keyId)) continue;
      registry.putAlias(alias.accountId, alias.aliasName, alias.keyId);
      count += 1;
    }
    return count;
  }

  /** Writes the registry's aliases, after any write in progress. */
  save(aliases: readonly LocalAlias[]): Promise<void> {
    const body = `${JSON.stringify(
      {
        version: 1,
        aliases: aliases.map((alias) => ({
          aliasName: alias.aliasName,
          accountId: alias.accountId,
          keyId: alias.keyId,
          createdAt: alias.createdAt.toISOString(),
          updatedAt: alias.updatedAt.toISOString(),
        })),
      },
      null,
      2,
    )}\n`;
    const temporary = `${this.#path}.${process.pid}.tmp`;
    this.#writing = this.#writing
      .catch(() => undefined)
      .then(async () => {
        await writeFile(temporary, body, { mode: 0o600 });
        await rename(temporary, this.#path);
      });
    return this.#writing;
  }

  /** Waits for the last write. */
  async flush(): Promise<void> {
    await this.#writing.catch(() => undefined);
  }
}
