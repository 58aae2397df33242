import { createCipheriv, randomBytes } from 'node:crypto';
import { type EncryptionContext, KeyswitchError } from '@keyswitch/core';
import { IV_BYTES, SALT_BYTES, TAG_BYTES, type WrappedDataKey } from './format/envelope.js';
import { additionalData, envelopeFlags, serializeEnvelope } from './format/envelope-bytes.js';
import { encodeEnvelopeString } from './format/envelope-string.js';
import { type ParsedEnvelope, parseEnvelope } from './format/parse-envelope.js';
import { canonicalContextBytes } from './lib/context-codec.js';
import { type Lease, type Loaded, owned } from './lib/data-key-cache.js';
import { effectiveContext } from './lib/effective-context.js';
import { invalidEnvelope } from './lib/invalid-envelope.js';
import {
  commitmentMatches,
  commitmentOf,
  deriveKeyAndCommitment,
  encryptionKeyOf,
} from './lib/key-commitment.js';
import type { KeyVersion } from './lib/key-version.js';
import { internalsOf } from './lib/keyring-internals.js';
import type { LogicalKey } from './lib/logical-key.js';
import { openCommitted, openLegacy } from './lib/open-bulk.js';
import { partitionKey } from './lib/partition-key.js';
import { unwrapInOrder, withTimeout } from './lib/unwrap-in-order.js';

/** Options for {@link Keyring.envelopes}. */
export interface EnvelopeCipherOptions {
  /** Store the encryption context in each envelope's header (default false); see {@link EncryptOptions}. */
  readonly storeContext?: boolean;
}

/** Options for {@link EnvelopeCipher.encrypt}. */
export interface EncryptOptions {
  /**
   * Non-secret pairs bound to the record: in the key schedule, as GCM additional data, and as the
   * backend's encryption context when the data key is wrapped. Decrypting and re-wrapping need the same
   * context. Data keys are cached per context, so a context that differs per record gets a data key per
   * record.
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
 * Envelope encryption of records of any size under a logical key, key-committing (format 2): a data key
 * made by the active backend key (and wrapped by every member of a multi-keyring), HKDF-derived into an
 * AES-256-GCM key and a commitment stored in the header, cached within the keyring's limits. Reads the
 * format 1 envelopes of earlier releases. Made by {@link Keyring.envelopes}.
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
   * Seals a record (any length, empty included) in an envelope naming the key and the version(s) that
   * wrapped its data key.
   *
   * @throws INVALID_INPUT (not bytes, a malformed context), USAGE_MISMATCH (a retired `version`, a backend
   * key of the wrong kind), KEY_DISABLED (an enforced cryptoperiod has ended, or a wrapping backend key
   * is disabled), KEY_NOT_FOUND, UNAVAILABLE, CLOSED
   */
  async encrypt(plaintext: Uint8Array, options: EncryptOptions = {}): Promise<Uint8Array> {
    const name = this.#key.name;
    if (!(plaintext instanceof Uint8Array)) {
      throw new KeyswitchError('INVALID_INPUT', 'the plaintext must be a Uint8Array', { keyName: name });
    }
    const internals = internalsOf(this.#keyring);
    const contextBytes = canonicalContextBytes(options.context, name);
    const wrappers = await internals.wrappersForNewData(this.#key, options.version);
    const stateCheck = internals.assertEnabled(wrappers);
    if (stateCheck) await stateCheck;
    const lease = await this.#sealingKey(wrappers, options.context, contextBytes, plaintext.length);
    const storeContext = options.storeContext ?? this.#storeContext;
    try {
      const { salt, wrappedKeys } = lease.header!;
      const commitment = commitmentOf(lease.material);
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', encryptionKeyOf(lease.material), iv, {
        authTagLength: TAG_BYTES,
      });
      cipher.setAAD(additionalData(name, envelopeFlags(storeContext), contextBytes, salt, commitment));
      const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
      return serializeEnvelope({
        keyName: name,
        storedContext: storeContext ? contextBytes : undefined,
        salt,
        commitment,
        wrappedKeys,
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
   * Opens an envelope (bytes or string form, format 2 or 1) sealed under this logical key. A multi-keyring
   * tries its members in the configured order, each within its timeout, and the first that opens the
   * data key wins; the data key must match the envelope's commitment before anything is decrypted.
   *
   * @throws INVALID_CIPHERTEXT (malformed, altered, a data key that does not match the commitment,
   * another key, no configured version, a different context), KEY_DISABLED, KEY_NOT_FOUND, UNAVAILABLE,
   * CLOSED
   */
  async decrypt(envelope: Uint8Array | string, options: DecryptOptions = {}): Promise<Uint8Array> {
    const name = this.#key.name;
    const internals = internalsOf(this.#keyring);
    internals.assertOpen();
    const parsed = parseEnvelope(envelope);
    if (parsed.keyName !== name) {
      throw invalidEnvelope(`the envelope was sealed under key "${parsed.keyName}", not this key`, name);
    }
    const { context, bytes } = effectiveContext(parsed, options.context, name);
    const lease = await openingKey(this.#keyring, this.#key, parsed, context, bytes);
    try {
      return parsed.formatVersion === 1
        ? openLegacy(parsed, lease.material, bytes)
        : openCommitted(parsed, lease.material, bytes);
    } finally {
      lease.material.fill(0);
    }
  }

  async #sealingKey(
    wrappers: readonly KeyVersion[],
    context: EncryptionContext | undefined,
    contextBytes: Uint8Array,
    length: number,
  ): Promise<Lease> {
    const name = this.#key.name;
    const timeoutMs = this.#key.timeoutMs;
    const load = async (): Promise<Loaded> => {
      const [generator, ...others] = wrappers as [KeyVersion, ...KeyVersion[]];
      // Each key answers within the timeout, the one that makes the data key too; a late one is zeroed.
      const made = await withTimeout(generator.generateDataKey(context), timeoutMs, generator, (late) =>
        late.plaintext.fill(0),
      );
      try {
        const copies = await Promise.all(
          others.map((other) => withTimeout(other.wrap(made.plaintext, context), timeoutMs, other)),
        );
        const wrappedKeys: WrappedDataKey[] = [
          { keyVersion: generator.info.id, wrappedDataKey: made.wrapped },
          ...others.map((other, index) => ({ keyVersion: other.info.id, wrappedDataKey: copies[index]! })),
        ];
        const salt = randomBytes(SALT_BYTES);
        return {
          material: deriveKeyAndCommitment(made.plaintext, salt, name, contextBytes),
          header: { salt, wrappedKeys },
          owners: wrappers.map((wrapper) => wrapper.owner),
        };
      } finally {
        made.plaintext.fill(0);
      }
    };
    const cache = internalsOf(this.#keyring).cache;
    if (!cache) {
      const loaded = await load();
      return { material: owned(loaded.material), header: loaded.header, owners: loaded.owners };
    }
    return cache.acquire(
      partitionKey('seal', name, contextBytes, ...wrappers.map((wrapper) => wrapper.info.id)),
      length,
      load,
    );
  }
}

/**
 * @internal The key that opens an envelope's ciphertext: format 2's derived key (its commitment checked
 * against the envelope's when it is loaded), or format 1's data key; from the cache when it holds one
 * whose wrapping keys are still enabled, else from the first configured version that opens a wrapped copy.
 *
 * @throws INVALID_CIPHERTEXT (no configured version wrapped it, the commitment differs), the backends'
 * errors
 */
export async function openingKey(
  keyring: object,
  key: LogicalKey,
  parsed: ParsedEnvelope,
  context: EncryptionContext | undefined,
  contextBytes: Uint8Array,
): Promise<Lease> {
  const internals = internalsOf(keyring);
  if (parsed.formatVersion === 1 && !internals.opensFormat1) {
    throw invalidEnvelope(
      'the envelope is format 1, which does not commit to its data key, and the commitmentPolicy REQUIRE_ENCRYPT_REQUIRE_DECRYPT refuses it: migrate stored data with rewrap under a keyring that allows format 1',
      key.name,
    );
  }
  const named = key.unwrapCandidates(parsed.wrappedKeys);
  const now = internals.now().getTime();
  const candidates = named.filter((candidate) => !candidate.version.disabledAt(now));
  if (named.length > 0 && candidates.length === 0) {
    throw new KeyswitchError(
      'KEY_DISABLED',
      `the envelope is under version ${named.map((candidate) => `"${candidate.version.info.id}"`).join(', ')}, out of use since its disabledFrom date: re-wrap data before disabling its version`,
      { keyName: key.name },
    );
  }
  if (candidates.length === 0) {
    const named = parsed.wrappedKeys.map((entry) => `"${entry.keyVersion}"`);
    throw invalidEnvelope(
      `the envelope names ${named.length > 1 ? `versions ${named.join(', ')}, none of which is` : `version ${named[0]}, which is not`} configured (configured: ${key.versionIds().join(', ')}): the envelope was altered, or the version was removed before its data was re-wrapped`,
      key.name,
    );
  }
  const load = async (): Promise<Loaded> => {
    const { version, dataKey } = await unwrapInOrder(key.name, candidates, context, key.timeoutMs);
    if (parsed.formatVersion === 1) return { material: dataKey, owners: [version.owner] };
    try {
      const derived = deriveKeyAndCommitment(dataKey, parsed.salt!, key.name, contextBytes);
      if (!commitmentMatches(derived, parsed.commitment!)) {
        derived.fill(0);
        throw invalidEnvelope(
          `the data key version "${version.info.id}" opened does not match the envelope's key commitment: the envelope was altered, or made to open differently under different wrapped keys`,
          key.name,
        );
      }
      return { material: derived, owners: [version.owner] };
    } finally {
      dataKey.fill(0);
    }
  };
  const cache = internals.cache;
  if (!cache) {
    const loaded = await load();
    return { material: owned(loaded.material), header: undefined, owners: loaded.owners };
  }
  // Format 2 is cached by salt and commitment: any envelope with both opens with the same derived key,
  // whichever wrapped copy it carries. Format 1 is cached by its one wrapped key, as before.
  const partition =
    parsed.formatVersion === 1
      ? partitionKey('open-1', key.name, parsed.keyVersion, contextBytes, parsed.wrappedDataKey)
      : partitionKey('open-2', key.name, contextBytes, parsed.salt!, parsed.commitment!);
  for (let attempt = 0; ; attempt += 1) {
    const lease = await cache.acquire(partition, parsed.ciphertext.length, load);
    const enabled = attempt > 0 || internals.ownersEnabled(lease.owners);
    if (enabled === true || (await enabled)) return lease;
    lease.material.fill(0); // a wrapping key was disabled: its cached keys are gone; open it afresh
  }
}
