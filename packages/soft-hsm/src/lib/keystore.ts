import { mkdir, readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { acquireLockFile, fileSystemError, KeyswitchError, type LockFile } from '@keyswitch/core';
import { removeLeftoverTempFiles, writeFileAtomic } from './atomic-write.js';
import type { KeyRecord } from './key-record.js';
import { decodeKeySet, encodeKeySet } from './key-set-codec.js';
import { decryptKeystoreFile, encodeKeystoreFile, parseKeystoreFile } from './keystore-format.js';
import {
  deriveKeystoreKey,
  newScryptParameters,
  type ScryptParameters,
  scryptParametersAreSane,
} from './scrypt-key.js';

function errnoCode(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? 'error';
}

/**
 * A keystore file, open: it holds the lock (unless read-only) and the key derived from the passphrase
 * (not the passphrase). Callers serialize `save` calls.
 */
export class Keystore {
  readonly path: string;
  readonly readOnly: boolean;
  readonly #key: Buffer;
  readonly #kdf: ScryptParameters;
  readonly #lock: LockFile | undefined;

  private constructor(path: string, key: Buffer, kdf: ScryptParameters, lock: LockFile | undefined) {
    this.path = path;
    this.readOnly = lock === undefined;
    this.#key = key;
    this.#kdf = kdf;
    this.#lock = lock;
  }

  /**
   * Opens (or, for writing, creates) a keystore and reads its keys.
   *
   * @throws LOCKED when another live process has it open for writing; CONFIG_INVALID for a wrong
   * passphrase, a corrupted file, a path that cannot be a keystore (a directory, a file as a parent), or
   * a read-only open of a missing file; ACCESS_DENIED when the file system refuses (EACCES, EROFS)
   */
  static async open(
    path: string,
    passphrase: string,
    readOnly: boolean,
  ): Promise<{ keystore: Keystore; records: KeyRecord[] }> {
    const file = resolve(path);
    if (passphrase.length === 0) {
      throw new KeyswitchError('CONFIG_INVALID', `the passphrase for keystore ${file} is empty`);
    }
    let lock: LockFile | undefined;
    try {
      if (!readOnly) {
        await mkdir(dirname(file), { recursive: true, mode: 0o700 }).catch((error: unknown) => {
          throw fileSystemError(error, { what: 'keystore', path: file, action: 'cannot be created' });
        });
        lock = await acquireLockFile(file, {
          what: 'keystore',
          hint: 'stop it, or open with readOnly: true',
        });
        await removeLeftoverTempFiles(file);
      }
      const bytes = await readFile(file).catch((error: unknown) => {
        if (errnoCode(error) === 'ENOENT' && !readOnly) return undefined;
        if (errnoCode(error) === 'ENOENT') {
          throw new KeyswitchError(
            'CONFIG_INVALID',
            `keystore ${file} does not exist; a read-only open never creates one`,
            { cause: error },
          );
        }
        throw fileSystemError(error, { what: 'keystore', path: file, action: 'cannot be read' });
      });
      if (bytes === undefined) {
        const kdf = newScryptParameters();
        const keystore = new Keystore(file, await deriveKeystoreKey(passphrase, kdf), kdf, lock);
        await keystore.save([]);
        return { keystore, records: [] };
      }
      const parts = parseKeystoreFile(bytes, file);
      if (!scryptParametersAreSane(parts.kdf)) {
        throw new KeyswitchError(
          'CONFIG_INVALID',
          `cannot open keystore: wrong passphrase or corrupted file (${file})`,
        );
      }
      const key = await deriveKeystoreKey(passphrase, parts.kdf);
      let plaintext: Buffer;
      try {
        plaintext = decryptKeystoreFile(parts, key, file);
      } catch (error) {
        key.fill(0);
        throw error;
      }
      try {
        return { keystore: new Keystore(file, key, parts.kdf, lock), records: decodeKeySet(plaintext) };
      } catch {
        key.fill(0);
        throw new KeyswitchError(
          'CONFIG_INVALID',
          `cannot open keystore: its key set is corrupted (${file})`,
        );
      } finally {
        plaintext.fill(0);
      }
    } catch (error) {
      lock?.release();
      throw error;
    }
  }

  /**
   * Writes the whole key set, atomically. When this resolves the keys are on disk.
   *
   * @throws UNAVAILABLE (a full disk, an I/O error) or ACCESS_DENIED (a read-only file system, no
   * permission) when the file cannot be written; the previous contents stay intact
   */
  async save(records: readonly KeyRecord[]): Promise<void> {
    if (this.readOnly) throw new KeyswitchError('ACCESS_DENIED', `keystore ${this.path} is open read-only`);
    const plaintext = encodeKeySet(records);
    try {
      await writeFileAtomic(this.path, encodeKeystoreFile(plaintext, this.#key, this.#kdf));
    } catch (error) {
      throw fileSystemError(error, { what: 'keystore', path: this.path, action: 'cannot be written' });
    } finally {
      plaintext.fill(0);
    }
  }

  /** Forgets the derived key and releases the lock. */
  close(): void {
    this.#key.fill(0);
    this.#lock?.release();
  }
}
