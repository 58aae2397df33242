import { createCipheriv, randomBytes } from 'node:crypto';
import { type EncryptionContext, KeyswitchError } from '@keyswitch/core';
import { IV_BYTES, TAG_BYTES } from './format/envelope.js';
import { additionalData, envelopeFlags, serializeEnvelope } from './format/envelope-bytes.js';
import { encodeEnvelopeString } from './format/envelope-string.js';
import { parseEnvelope } from './format/parse-envelope.js';
import { canonicalContextBytes } from './lib/context-codec.js';
import { type Lease, owned } from './lib/data-key-cache.js';
import { effectiveContext } from './lib/effective-context.js';
import { invalidEnvelope } from './lib/invalid-envelope.js';
import type { KeyVersion } from './lib/key-version.js';
import { internalsOf } from './lib/keyring-internals.js';
import type { LogicalKey } from './lib/logical-key.js';
import { openBulk } from './lib/open-bulk.js';
import { partitionKey } from './lib/partition-key.js';

/** Options for {@link Keyring.envelopes}. */
export interface EnvelopeCipherOptions {
  /** Store the encryption context in each envelope's header (default false); see {@link EncryptOptions}. */
  readonly storeContext?: boolean;
}

/** Options for {@link EnvelopeCipher.encrypt}. */
export interface EncryptOptions {
  /**
   * Non-secret pairs bound to the record: as GCM additional data and as the backend's encryption context
   * when the data key is wrapped. Decrypting and re-wrapping need the same context. Data keys are cached
   * per context, so a context that differs per record gets a data key per record.
   */
  readonly context?: EncryptionContext;
  /**
   * Store the context in the header, so that decryption and re-wrapping can run without being given it
   * (it is still authenticated). Default: the cipher's `storeContext`.
   */
  readonly storeContext?: boolean;
  /** Insist on a version (it must be the active one); by default the active version is used. */
  readonly version?: string;
}

/** Options for {@link EnvelopeCipher.decrypt}. */
export interface DecryptOptions {
  /** The context the record was sealed with; optional when the envelope stores it. */
  readonly context?: EncryptionContext;
}

/**
 * Envelope encryption of records of any size under a logical key: AES-256-GCM with a data key that the
 * active backend key wraps, cached within the keyring's limits. Made by {@link Keyring.envelopes}.
 *
 * @example
 * ```ts
 * const cards = keyring.envelopes('pan-kek');
 * const sealed = await cards.encrypt(new TextEncoder().encode(pan), { context: { table: 'cards' } });
 * const pan2 = new TextDecoder().decode(await cards.decrypt(sealed, { context: { table: 'cards' } }));
 * ```
 */
export class EnvelopeCipher {
  readonly #keyring: object;
  readonly #key: LogicalKey;
  readonly #storeContext: boolean;

  /** @internal Made by {@link Keyring.envelopes}. */
  constructor(keyring: object, key: LogicalKey, options: EnvelopeCipherOptions) {
    this.#keyring = keyring;
    this.#key = key;
    this.#storeContext = options.storeContext === true;
  }

  /** The logical key name. */
  get keyName(): string {
    return this.#key.name;
  }

  /**
   * Seals a record (any length, empty included) in an envelope naming the key and version.
   *
   * @throws INVALID_INPUT (not bytes, a malformed context), USAGE_MISMATCH (a retired `version`, a backend
   * key of the wrong kind), KEY_DISABLED (an enforced cryptoperiod has ended, or the backend key is
   * disabled), KEY_NOT_FOUND, UNAVAILABLE, CLOSED
   */
  async encrypt(plaintext: Uint8Array, options: EncryptOptions = {}): Promise<Uint8Array> {
    const name = this.#key.name;
    if (!(plaintext instanceof Uint8Array)) {
      throw new KeyswitchError('INVALID_INPUT', 'the plaintext must be a Uint8Array', { keyName: name });
    }
    const internals = internalsOf(this.#keyring);
    const contextBytes = canonicalContextBytes(options.context, name);
    const version = await internals.forNewData(this.#key, options.version, 'data-keys');
    const lease = await this.#dataKey(version, options.context, contextBytes, plaintext.length);
    const storeContext = options.storeContext ?? this.#storeContext;
    try {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', lease.material, iv, { authTagLength: TAG_BYTES });
      cipher.setAAD(additionalData(name, envelopeFlags(storeContext), contextBytes));
      const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
      return serializeEnvelope({
        keyName: name,
        keyVersion: version.info.id,
        storedContext: storeContext ? contextBytes : undefined,
        wrappedDataKey: lease.wrapped!,
        iv,
        ciphertext,
        tag: cipher.getAuthTag(),
      });
    } finally {
      lease.material.fill(0);
    }
  }

  /**
   * {@link EnvelopeCipher.encrypt}, returning the envelope's base64url string form.
   *
   * @example
   * ```ts
   * db.run('INSERT INTO cards (pan) VALUES (?)', await cards.encryptToString(panBytes));
   * ```
   */
  async encryptToString(plaintext: Uint8Array, options: EncryptOptions = {}): Promise<string> {
    return encodeEnvelopeString(await this.encrypt(plaintext, options));
  }

  /**
   * Opens an envelope (bytes or string form) sealed under this logical key, with whichever of its
   * versions the envelope names.
   *
   * @throws INVALID_CIPHERTEXT (malformed, altered, another key, an unconfigured version, a different
   * context), KEY_DISABLED, KEY_NOT_FOUND, UNAVAILABLE, CLOSED
   */
  async decrypt(envelope: Uint8Array | string, options: DecryptOptions = {}): Promise<Uint8Array> {
    const name = this.#key.name;
    const internals = internalsOf(this.#keyring);
    internals.assertOpen();
    const parsed = parseEnvelope(envelope);
    if (parsed.keyName !== name) {
      throw invalidEnvelope(`the envelope was sealed under key "${parsed.keyName}", not this key`, name);
    }
    const version = this.#key.version(parsed.keyVersion);
    if (!version) {
      throw invalidEnvelope(
        `the envelope names version "${parsed.keyVersion}", which is not configured (configured: ${this.#key.versionIds().join(', ')}): the envelope was altered, or the version was removed before its data was re-wrapped`,
        name,
      );
    }
    const { context, bytes } = effectiveContext(parsed, options.context, name);
    const wrapped = parsed.wrappedDataKey;
    const unwrap = async () => ({ material: await version.unwrap(wrapped, context) });
    const lease = internals.cache
      ? await internals.cache.acquire(
          partitionKey('decrypt', name, version.info.id, bytes, wrapped),
          parsed.ciphertext.length,
          unwrap,
        )
      : { material: owned((await unwrap()).material), wrapped: undefined };
    try {
      return openBulk(parsed, lease.material, bytes);
    } finally {
      lease.material.fill(0);
    }
  }

  async #dataKey(
    version: KeyVersion,
    context: EncryptionContext | undefined,
    contextBytes: Uint8Array,
    length: number,
  ): Promise<Lease> {
    const generate = async () => {
      const key = await version.generateDataKey(context);
      return { material: key.plaintext, wrapped: key.wrapped };
    };
    const cache = internalsOf(this.#keyring).cache;
    if (cache) {
      return cache.acquire(
        partitionKey('encrypt', this.#key.name, version.info.id, contextBytes),
        length,
        generate,
      );
    }
    const key = await generate();
    return { material: owned(key.material), wrapped: key.wrapped };
  }
}
