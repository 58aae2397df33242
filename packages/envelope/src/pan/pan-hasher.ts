import { KeyswitchError } from '@keyswitch/core';
import type { KeyVersion } from '../lib/key-version.js';
import { internalsOf } from '../lib/keyring-internals.js';
import type { LogicalKey } from '../lib/logical-key.js';
import { VERSION_ID } from '../lib/names.js';
import { normalizePan } from './normalize-pan.js';

/** Options for {@link Keyring.panHasher}. */
export interface PanHasherOptions {
  /** How the HMAC is written: `base64url` (default, 43 characters for HMAC-SHA-256) or `hex`. */
  readonly encoding?: 'base64url' | 'hex';
  /** Prefix each token with its key version and a colon, `2025:…` (default true). */
  readonly versioned?: boolean;
}

/** A lookup token under one key version. */
export interface PanToken {
  readonly version: string;
  readonly token: string;
}

/**
 * Keyed hashes of PANs for lookups (PCI DSS 3.5.1.1): the HMAC of the normalised PAN, computed in the
 * backend with the logical key's active version, so equal PANs give equal tokens and the key never leaves
 * the HSM. After a rotation, {@link PanHasher.lookupTokens} gives the PAN's token under every version.
 * Made by {@link Keyring.panHasher}.
 *
 * @example
 * ```ts
 * const pans = keyring.panHasher('pan-hmac');
 * const token = await pans.token('4111 1111 1111 1111'); // '2025:q1J0…'
 * const rows = db.all('SELECT * FROM cards WHERE pan_token IN (?, ?)', ...(await pans.lookupTokens(pan)).map((t) => t.token));
 * ```
 */
export class PanHasher {
  readonly #keyring: object;
  readonly #key: LogicalKey;
  readonly #encoding: 'base64url' | 'hex';
  readonly #versioned: boolean;

  /** @internal Made by {@link Keyring.panHasher}. */
  constructor(keyring: object, key: LogicalKey, options: PanHasherOptions) {
    const encoding = options.encoding ?? 'base64url';
    if (encoding !== 'base64url' && encoding !== 'hex') {
      throw new KeyswitchError('INVALID_INPUT', 'encoding must be "base64url" or "hex"', {
        keyName: key.name,
      });
    }
    this.#keyring = keyring;
    this.#key = key;
    this.#encoding = encoding;
    this.#versioned = options.versioned ?? true;
  }

  /** The logical key name. */
  get keyName(): string {
    return this.#key.name;
  }

  /**
   * The PAN's token under the active version (or `version`, which must be the active one). Stable: the
   * same PAN always gives the same token under the same version.
   *
   * @throws INVALID_INPUT (not a valid PAN; the message holds no digit), USAGE_MISMATCH (a retired
   * version), KEY_DISABLED (an enforced cryptoperiod has ended), KEY_NOT_FOUND, UNAVAILABLE
   */
  async token(pan: string, options: { version?: string } = {}): Promise<string> {
    const message = this.#message(pan);
    try {
      const version = await internalsOf(this.#keyring).forNewData(this.#key, options.version, 'mac');
      return this.#format(version, await version.generateMac(message));
    } finally {
      message.fill(0);
    }
  }

  /**
   * The PAN's token under every version, active first: what to look a PAN up by while records under
   * older versions remain (this is verification use of retired versions, which PCI DSS 3.7.5 allows).
   *
   * @throws as {@link PanHasher.token}
   */
  async lookupTokens(pan: string): Promise<PanToken[]> {
    const message = this.#message(pan);
    internalsOf(this.#keyring).assertOpen();
    try {
      const versions = [this.#key.active, ...this.#key.versions().filter((v) => v !== this.#key.active)];
      return await Promise.all(
        versions.map(async (version) => ({
          version: version.info.id,
          token: this.#format(version, await version.generateMac(message)),
        })),
      );
    } finally {
      message.fill(0);
    }
  }

  /**
   * Whether `token` is this PAN's token, checked in the backend in constant time. A versioned token is
   * checked under its version; an unversioned one under each version. A malformed token, or one naming an
   * unconfigured version, gives `false`.
   *
   * @throws INVALID_INPUT when the PAN is not valid
   */
  async verify(pan: string, token: string): Promise<boolean> {
    const message = this.#message(pan);
    internalsOf(this.#keyring).assertOpen();
    try {
      if (typeof token !== 'string') return false;
      let versions = this.#key.versions();
      let encoded = token;
      const colon = token.indexOf(':');
      if (colon >= 0) {
        const id = token.slice(0, colon);
        const version = VERSION_ID.test(id) ? this.#key.version(id) : undefined;
        if (!version) return false;
        versions = [version];
        encoded = token.slice(colon + 1);
      }
      const mac = this.#decode(encoded);
      if (!mac) return false;
      for (const version of versions) if (await version.verifyMac(message, mac)) return true;
      return false;
    } finally {
      message.fill(0);
    }
  }

  #message(pan: string): Buffer {
    return Buffer.from(normalizePan(pan, this.#key.name), 'latin1');
  }

  #format(version: KeyVersion, mac: Uint8Array): string {
    const encoded = Buffer.from(mac).toString(this.#encoding);
    return this.#versioned ? `${version.info.id}:${encoded}` : encoded;
  }

  #decode(text: string): Uint8Array | undefined {
    const pattern = this.#encoding === 'hex' ? /^(?:[0-9a-f]{2}){16,64}$/ : /^[A-Za-z0-9_-]{22,86}$/;
    if (!pattern.test(text)) return undefined;
    const bytes = Buffer.from(text, this.#encoding);
    return bytes.toString(this.#encoding) === text ? bytes : undefined;
  }
}
