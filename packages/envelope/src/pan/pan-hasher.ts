import { KeyswitchError } from '@keyswitch/core';
import type { KeyVersion } from '../lib/key-version.js';
import { internalsOf } from '../lib/keyring-internals.js';
import type { LogicalKey } from '../lib/logical-key.js';
import { normalizePan } from './normalize-pan.js';
import {
  checkLabel,
  DEFAULT_PAN_TOKEN_LABEL,
  formatToken,
  macInput,
  type PanTokenFormat,
  parseToken,
} from './pan-token-format.js';

/** Options for {@link Keyring.panHasher}. */
export interface PanHasherOptions {
  /** How the HMAC is written: `base64url` (default, 43 characters for HMAC-SHA-256) or `hex`. */
  readonly encoding?: 'base64url' | 'hex';
  /** Name the key version in each token, `$2$2025$…` (default true). */
  readonly versioned?: boolean;
  /**
   * The token format {@link PanHasher.token} writes: 2 (default), the HMAC of a domain-separation label
   * and the PAN, prefixed `$2$`; or 1, the HMAC of the PAN alone, as earlier releases wrote it.
   */
  readonly format?: PanTokenFormat;
  /**
   * Format 2's domain-separation label (default `pan-lookup`): tokens made under one label never match
   * tokens under another, nor any other MAC made with the same key. 1 to 64 printable ASCII characters.
   */
  readonly label?: string;
}

/** A lookup token under one key version and format. */
export interface PanToken {
  readonly version: string;
  readonly format: PanTokenFormat;
  readonly token: string;
}

/**
 * Keyed hashes of PANs for lookups (PCI DSS 3.5.1.1): the HMAC of a domain-separation label and the
 * normalised PAN (format 2, `$2$version$mac`), computed in the backend with the logical key's active
 * version, so equal PANs give equal tokens and the key never leaves the HSM. Format 1 tokens (the HMAC
 * of the PAN alone, `version:mac`) of earlier releases still verify and are looked up. After a rotation, {@link PanHasher.lookupTokens} gives the PAN's token under every version.
 * Made by {@link Keyring.panHasher}.
 *
 * @example
 * ```ts
 * const pans = keyring.panHasher('pan-hmac');
 * const token = await pans.token('4111 1111 1111 1111'); // '$2$2025$q1J0…'
 * const rows = db.all('SELECT * FROM cards WHERE pan_token IN (?, ?)', ...(await pans.lookupTokens(pan)).map((t) => t.token));
 * ```
 */
export class PanHasher {
  readonly #keyring: object;
  readonly #key: LogicalKey;
  readonly #encoding: 'base64url' | 'hex';
  readonly #versioned: boolean;
  readonly #format: PanTokenFormat;
  readonly #label: string;

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
    const format = options.format ?? 2;
    if (format !== 1 && format !== 2) {
      throw new KeyswitchError('INVALID_INPUT', 'format must be 1 or 2', { keyName: key.name });
    }
    this.#format = format;
    this.#label = checkLabel(options.label ?? DEFAULT_PAN_TOKEN_LABEL, key.name);
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
      return this.#token(this.#format, version, await this.#mac(version, this.#format, message));
    } finally {
      message.fill(0);
    }
  }

  /**
   * The PAN's token under every version and format, active version first, this hasher's format first:
   * what to look a PAN up by while records under older versions or format 1 tokens remain (verification
   * use of retired versions, which PCI DSS 3.7.5 allows). Pass `formats: [2]` once every stored token is
   * format 2.
   *
   * @throws as {@link PanHasher.token}
   */
  async lookupTokens(
    pan: string,
    options: { formats?: readonly PanTokenFormat[] } = {},
  ): Promise<PanToken[]> {
    const message = this.#message(pan);
    internalsOf(this.#keyring).assertOpen();
    try {
      const formats = options.formats ?? [this.#format, this.#format === 2 ? 1 : 2];
      const versions = [this.#key.active, ...this.#key.versions().filter((v) => v !== this.#key.active)];
      const wanted = formats.flatMap((format) => versions.map((version) => ({ format, version })));
      return await Promise.all(
        wanted.map(async ({ format, version }) => ({
          version: version.info.id,
          format,
          token: this.#token(format, version, await this.#mac(version, format, message)),
        })),
      );
    } finally {
      message.fill(0);
    }
  }

  /**
   * Whether `token` is this PAN's token, checked in the backend in constant time. Its prefix says its
   * format (`$2$`: format 2 under this hasher's label; otherwise format 1). A versioned token is checked
   * under its version; an unversioned one under each version. A malformed token, or one naming an
   * unconfigured version, gives `false`.
   *
   * @throws INVALID_INPUT when the PAN is not valid
   */
  async verify(pan: string, token: string): Promise<boolean> {
    const message = this.#message(pan);
    internalsOf(this.#keyring).assertOpen();
    try {
      if (typeof token !== 'string') return false;
      const parsed = parseToken(token);
      if (!parsed) return false;
      const now = internalsOf(this.#keyring).now().getTime();
      let versions = this.#key.versions().filter((version) => !version.disabledAt(now));
      if (parsed.version !== undefined) {
        const version = this.#key.version(parsed.version);
        if (!version) return false;
        if (version.disabledAt(now)) {
          throw new KeyswitchError(
            'KEY_DISABLED',
            `the token is under version "${version.info.id}", out of use since its disabledFrom date`,
            { keyName: this.#key.name },
          );
        }
        versions = [version];
      }
      const mac = this.#decode(parsed.mac);
      if (!mac) return false;
      const input = macInput(parsed.format, this.#label, message);
      try {
        for (const version of versions) if (await version.verifyMac(input, mac)) return true;
      } finally {
        input.fill(0);
      }
      return false;
    } finally {
      message.fill(0);
    }
  }

  #message(pan: string): Buffer {
    return Buffer.from(normalizePan(pan, this.#key.name), 'latin1');
  }

  async #mac(version: KeyVersion, format: PanTokenFormat, message: Buffer): Promise<Uint8Array> {
    const input = macInput(format, this.#label, message);
    try {
      return await version.generateMac(input);
    } finally {
      input.fill(0);
    }
  }

  #token(format: PanTokenFormat, version: KeyVersion, mac: Uint8Array): string {
    const encoded = Buffer.from(mac).toString(this.#encoding);
    return formatToken(format, this.#versioned ? version.info.id : undefined, encoded);
  }

  #decode(text: string): Uint8Array | undefined {
    const pattern = this.#encoding === 'hex' ? /^(?:[0-9a-f]{2}){16,64}$/ : /^[A-Za-z0-9_-]{22,86}$/;
    if (!pattern.test(text)) return undefined;
    const bytes = Buffer.from(text, this.#encoding);
    return bytes.toString(this.#encoding) === text ? bytes : undefined;
  }
}
