import { createPublicKey, diffieHellman, randomBytes, randomUUID } from 'node:crypto';
import {
  algorithmInfo,
  type Capabilities,
  type CipherInput,
  type CreateKeyRequest,
  copyBytes,
  type DataKeySpec,
  type EncryptionContext,
  type ImportKeyInput,
  isKeyswitchError,
  type KeyDescription,
  type KeyFacts,
  type KeyList,
  KeyProvider,
  KeyswitchError,
  type MacAlgorithm,
  type ParsedPublicKey,
  parseWithSchema,
  requireObject,
  type SignInput,
} from '@keyswitch/core';
import { softHsmCapabilities } from './capabilities.js';
import { type SoftHsmCheckedOptions, softHsmOptionsSchema } from './config.js';
import { generateKeyMaterial } from './lib/generate-key-material.js';
import { checkHmac, computeHmac } from './lib/hmac.js';
import { asymmetricMaterial, secretMaterial, wipeMaterial } from './lib/key-material.js';
import { assertLabelNotAnId, keyMetadata } from './lib/key-metadata.js';
import { describeRecord, isPastDeletion, type KeyRecord } from './lib/key-record.js';
import { asymmetric, labelIndex, lookUp, notFound, notUsable, secret, withState } from './lib/key-set.js';
import { Keystore } from './lib/keystore.js';
import { compareListPosition, decodeListToken, encodeListToken, listPosition } from './lib/list-token.js';
import { decryptOaep, encryptOaep } from './lib/rsa-oaep.js';
import { signMessage, verifyMessage } from './lib/signature.js';
import { openSymmetric, sealSymmetric } from './lib/symmetric-ciphertext.js';
import { revealPassphrase, type SoftHsmOptions } from './soft-hsm-options.js';

export type { SoftHsmOptions } from './soft-hsm-options.js';

const DAY_MS = 86_400_000;

/**
 * A software HSM on node:crypto: the whole keyswitch provider contract with the semantics of a real HSM
 * (AWS KMS's, where HSMs differ), for development and tests. Keys are created inside it and never leave
 * it: no method returns private or secret key material. Keys live in memory, or in a keystore file
 * encrypted with a passphrase (scrypt and AES-256-GCM), written atomically on every change and locked
 * against a second writer.
 *
 * It refuses to open in production: its keys are protected by a passphrase, not by hardware.
 *
 * References are a key's label (its name) or its id. Disabled keys and keys pending deletion refuse
 * every operation with KEY_DISABLED; keys past their deletion date are destroyed when next touched.
 *
 * @example
 * ```ts
 * const hsm = await SoftHsm.open({ keystore: '.keyswitch/dev.keystore', passphrase: process.env.KEYSTORE_PASSPHRASE });
 * await hsm.createKey({ spec: 'ECC_NIST_P256', usage: 'SIGN_VERIFY', label: 'acs-signing' });
 * const signature = await hsm.sign({ ref: 'acs-signing', algorithm: 'ECDSA_SHA_256', message });
 * const publicKey = await hsm.getPublicKey('acs-signing'); // publicKey.pem(), publicKey.jwk()
 * await hsm.close();
 * ```
 */
export class SoftHsm extends KeyProvider {
  readonly type = 'soft-hsm';
  readonly #store: Keystore | undefined;
  readonly #readOnly: boolean;
  readonly #clock: () => Date;
  #keys: Map<string, KeyRecord>;
  #labels: Map<string, string>;
  /** Every change goes through this chain: one at a time, each committed to disk before the next. */
  #changes: Promise<unknown> = Promise.resolve();

  private constructor(options: SoftHsmOptions, store: Keystore | undefined, records: readonly KeyRecord[]) {
    super(options);
    this.#store = store;
    this.#readOnly = options.readOnly === true;
    this.#clock = options.clock ?? (() => new Date());
    this.#keys = new Map(records.map((record) => [record.id, record]));
    this.#labels = labelIndex(this.#keys);
  }

  /**
   * Opens a software HSM: in memory, or on a keystore file (created on first open).
   *
   * @throws CONFIG_INVALID in production, for a keystore without a passphrase, a wrong passphrase or a
   * corrupted keystore ("cannot open keystore: wrong passphrase or corrupted file"); LOCKED when another
   * live process has the keystore open for writing
   *
   * @example
   * ```ts
   * const memory = await SoftHsm.open();
   * const persistent = await SoftHsm.open({ keystore: 'dev.keystore', passphrase: new Secret('correct horse') });
   * const reader = await SoftHsm.open({ keystore: 'dev.keystore', passphrase: 'correct horse', readOnly: true });
   * ```
   */
  static async open(options: SoftHsmOptions = {}): Promise<SoftHsm> {
    const given = requireObject(options, 'SoftHsm options');
    const provider = typeof given.name === 'string' ? given.name : 'soft-hsm';
    let checked: SoftHsmCheckedOptions;
    try {
      checked = parseWithSchema(softHsmOptionsSchema, options, '');
    } catch (error) {
      throw isKeyswitchError(error) ? error.withContext({ provider }) : error;
    }
    if (checked.environment === 'production') {
      throw new KeyswitchError(
        'CONFIG_INVALID',
        'the software HSM is for development and tests; it refuses production',
        { provider },
      );
    }
    let store: Keystore | undefined;
    let records: KeyRecord[] = [];
    if (checked.keystore !== undefined) {
      try {
        ({ keystore: store, records } = await Keystore.open(
          checked.keystore,
          revealPassphrase(checked.passphrase)!,
          checked.readOnly === true,
        ));
      } catch (error) {
        throw isKeyswitchError(error) ? error.withContext({ provider }) : error;
      }
    }
    // The options as given: the schema accepted them (and changes none of their values).
    const hsm = new SoftHsm(options, store, records);
    try {
      await hsm.#destroyDueKeys();
    } catch (error) {
      store?.close();
      throw error;
    }
    return hsm;
  }

  /** The keystore file's absolute path, or `undefined` for an in-memory HSM. */
  get keystore(): string | undefined {
    return this.#store?.path;
  }

  /** Whether the HSM was opened read-only. */
  get readOnly(): boolean {
    return this.#readOnly;
  }

  // ---- hooks -------------------------------------------------------------------------------------

  protected override async onCancelKeyDeletion(key: KeyFacts): Promise<void> {
    this.#assertWritable();
    await this.#change((keys, labels) => {
      const record = this.#existing(keys, labels, key.ref);
      if (record.state !== 'PENDING_DELETION') {
        throw new KeyswitchError('INVALID_INPUT', 'the key is not pending deletion');
      }
      keys.set(record.id, withState(record, 'DISABLED'));
    });
  }

  protected onCapabilities(): Capabilities {
    return softHsmCapabilities;
  }

  protected async onDescribeKey(ref: string): Promise<KeyDescription> {
    return describeRecord(await this.#find(ref));
  }

  protected override async onListKeys(options: { limit: number; nextToken?: string }): Promise<KeyList> {
    await this.#destroyDueKeys();
    const sorted = [...this.#keys.values()].sort((a, b) =>
      compareListPosition(listPosition(a), listPosition(b)),
    );
    let start = 0;
    if (options.nextToken !== undefined) {
      const after = decodeListToken(options.nextToken);
      start = sorted.findIndex((record) => compareListPosition(listPosition(record), after) > 0);
      if (start === -1) start = sorted.length;
    }
    const page = sorted.slice(start, start + options.limit);
    const more = start + options.limit < sorted.length;
    return {
      keys: page.map(describeRecord),
      ...(more ? { nextToken: encodeListToken(listPosition(page.at(-1)!)) } : {}),
    };
  }

  protected override async onCreateKey(request: CreateKeyRequest): Promise<KeyDescription> {
    this.#assertWritable();
    if (request.label !== undefined) {
      assertLabelNotAnId(request.label);
      this.#assertLabelFree(this.#keys, this.#labels, request.label);
    }
    const metadata = keyMetadata(request);
    const material = await generateKeyMaterial(request.spec);
    return this.#add({
      id: randomUUID(),
      ...(request.label === undefined ? {} : { label: request.label }),
      spec: request.spec,
      usage: request.usage,
      state: 'ENABLED',
      origin: 'GENERATED',
      createdAt: this.#clock(),
      ...metadata,
      material,
    });
  }

  /**
   * Stores an imported key (read and checked by the core's `importKey`), so that tests can reproduce a
   * production key's behaviour with its test twin. The imported key is as non-extractable as any other.
   */
  protected override async onImportKey(input: ImportKeyInput): Promise<KeyDescription> {
    this.#assertWritable();
    if (input.label !== undefined) {
      assertLabelNotAnId(input.label);
      this.#assertLabelFree(this.#keys, this.#labels, input.label);
    }
    const material =
      input.kind === 'secret' ? secretMaterial(input.key.export()) : asymmetricMaterial(input.key);
    return this.#add({
      id: randomUUID(),
      ...(input.label === undefined ? {} : { label: input.label }),
      spec: input.spec,
      usage: input.usage,
      state: 'ENABLED',
      origin: 'IMPORTED',
      createdAt: this.#clock(),
      ...keyMetadata(input),
      material,
    });
  }

  protected override onNonexistentKeyRef(): string {
    return `keyswitch-nonexistent-${randomBytes(12).toString('hex')}`;
  }

  protected override async onEnableKey(key: KeyFacts): Promise<void> {
    await this.#setState(key.ref, 'ENABLED');
  }

  protected override async onDisableKey(key: KeyFacts): Promise<void> {
    await this.#setState(key.ref, 'DISABLED');
  }

  protected override async onScheduleKeyDeletion(key: KeyFacts, pendingWindowDays: number): Promise<Date> {
    this.#assertWritable();
    return this.#change((keys, labels) => {
      const record = this.#existing(keys, labels, key.ref);
      if (record.state === 'PENDING_DELETION') throw notUsable(record);
      const deletionDate = new Date(this.#clock().getTime() + pendingWindowDays * DAY_MS);
      keys.set(record.id, { ...record, state: 'PENDING_DELETION', deletionDate });
      return new Date(deletionDate);
    });
  }

  protected override async onGetPublicKey(key: KeyFacts): Promise<Uint8Array> {
    return copyBytes(asymmetric(await this.#usable(key)).spki);
  }

  protected override async onSign(key: KeyFacts, input: SignInput): Promise<Uint8Array> {
    const record = await this.#usable(key);
    return signMessage(asymmetric(record), record.spec, input);
  }

  protected override async onVerify(
    key: KeyFacts,
    input: SignInput & { readonly signature: Uint8Array },
  ): Promise<boolean> {
    const record = await this.#usable(key);
    return verifyMessage(asymmetric(record), record.spec, input);
  }

  protected override async onEncrypt(key: KeyFacts, input: CipherInput): Promise<Uint8Array> {
    const record = await this.#usable(key);
    if (input.algorithm === 'SYMMETRIC_DEFAULT') {
      return sealSymmetric(secret(record).bytes, record.id, input.data, input.context);
    }
    return encryptOaep(asymmetric(record).publicKey, algorithmInfo(input.algorithm).hash!, input.data);
  }

  protected override async onDecrypt(key: KeyFacts, input: CipherInput): Promise<Uint8Array> {
    const record = await this.#usable(key);
    if (input.algorithm === 'SYMMETRIC_DEFAULT') {
      return openSymmetric(secret(record).bytes, record.id, input.data, input.context);
    }
    return decryptOaep(asymmetric(record).privateKey, algorithmInfo(input.algorithm).hash!, input.data);
  }

  protected override async onGenerateMac(
    key: KeyFacts,
    input: { algorithm: MacAlgorithm; message: Uint8Array },
  ): Promise<Uint8Array> {
    const record = await this.#usable(key);
    return computeHmac(secret(record).bytes, algorithmInfo(input.algorithm).hash!, input.message);
  }

  protected override async onVerifyMac(
    key: KeyFacts,
    input: { algorithm: MacAlgorithm; message: Uint8Array; mac: Uint8Array },
  ): Promise<boolean> {
    const record = await this.#usable(key);
    return checkHmac(secret(record).bytes, algorithmInfo(input.algorithm).hash!, input.message, input.mac);
  }

  protected override async onDeriveSharedSecret(key: KeyFacts, peer: ParsedPublicKey): Promise<Uint8Array> {
    const record = await this.#usable(key);
    const publicKey = createPublicKey({ key: Buffer.from(peer.spki), format: 'der', type: 'spki' });
    const shared = diffieHellman({ privateKey: asymmetric(record).privateKey, publicKey });
    const copy = copyBytes(shared);
    shared.fill(0);
    return copy;
  }

  protected override async onGenerateDataKey(
    key: KeyFacts,
    input: { dataKeySpec: DataKeySpec; context: EncryptionContext | undefined },
  ): Promise<{ plaintext: Uint8Array; ciphertextBlob: Uint8Array }> {
    const record = await this.#usable(key);
    const dataKey = randomBytes(input.dataKeySpec === 'AES_256' ? 32 : 16);
    try {
      const ciphertextBlob = sealSymmetric(secret(record).bytes, record.id, dataKey, input.context);
      return { plaintext: copyBytes(dataKey), ciphertextBlob };
    } finally {
      dataKey.fill(0);
    }
  }

  protected override async onGenerateRandom(length: number): Promise<Uint8Array> {
    return copyBytes(randomBytes(length));
  }

  protected override async onClose(): Promise<void> {
    await this.#changes;
    for (const record of this.#keys.values()) wipeMaterial(record.material);
    this.#keys = new Map();
    this.#labels = new Map();
    this.#store?.close();
  }

  // ---- internals ---------------------------------------------------------------------------------

  #assertWritable(): void {
    if (this.#readOnly) {
      const what = this.#store ? `keystore ${this.#store.path}` : 'software HSM';
      throw new KeyswitchError(
        'ACCESS_DENIED',
        `the ${what} is open read-only: keys cannot be created, imported or changed`,
      );
    }
  }

  #assertLabelFree(
    keys: ReadonlyMap<string, KeyRecord>,
    labels: ReadonlyMap<string, string>,
    label: string,
  ): void {
    const holder = lookUp(keys, labels, label);
    if (holder !== undefined && !isPastDeletion(holder, this.#clock())) {
      throw new KeyswitchError('KEY_EXISTS', `the label "${label}" is already taken by key ${holder.id}`);
    }
  }

  /** Adds a new key, committed before it is usable; the material is wiped if that fails. */
  async #add(record: KeyRecord): Promise<KeyDescription> {
    try {
      await this.#change((keys, labels) => {
        if (record.label !== undefined) this.#assertLabelFree(keys, labels, record.label);
        keys.set(record.id, record);
      });
    } catch (error) {
      wipeMaterial(record.material);
      throw error;
    }
    return describeRecord(record);
  }

  async #setState(ref: string, state: 'ENABLED' | 'DISABLED'): Promise<void> {
    this.#assertWritable();
    await this.#change((keys, labels) => {
      const record = this.#existing(keys, labels, ref);
      if (record.state === 'PENDING_DELETION') throw notUsable(record);
      if (record.state !== state) keys.set(record.id, withState(record, state));
    });
  }

  /** The record `ref` names in a key set being changed; KEY_NOT_FOUND when there is none (or it is due for destruction). */
  #existing(
    keys: ReadonlyMap<string, KeyRecord>,
    labels: ReadonlyMap<string, string>,
    ref: string,
  ): KeyRecord {
    const record = lookUp(keys, labels, ref);
    if (record === undefined || isPastDeletion(record, this.#clock())) throw notFound();
    return record;
  }

  /**
   * Applies a change to a copy of the key set, writes the copy to the keystore, then makes it current,
   * so that a key is usable only once it is on disk. Changes run one at a time. Keys past their
   * deletion date are destroyed on the way.
   */
  #change<T>(apply: (keys: Map<string, KeyRecord>, labels: ReadonlyMap<string, string>) => T): Promise<T> {
    const run = this.#changes.then(async () => {
      const next = new Map(this.#keys);
      const now = this.#clock();
      const destroyed = [...next.values()].filter((record) => isPastDeletion(record, now));
      for (const record of destroyed) next.delete(record.id);
      const result = apply(next, labelIndex(next));
      const changed =
        next.size !== this.#keys.size || [...next].some(([id, record]) => this.#keys.get(id) !== record);
      if (changed && this.#store && !this.#readOnly) await this.#store.save([...next.values()]);
      this.#keys = next;
      this.#labels = labelIndex(next);
      for (const record of destroyed) wipeMaterial(record.material);
      return result;
    });
    this.#changes = run.catch(() => undefined);
    return run;
  }

  /** Destroys the keys past their deletion date, if there are any. */
  async #destroyDueKeys(): Promise<void> {
    const now = this.#clock();
    if ([...this.#keys.values()].some((record) => isPastDeletion(record, now))) {
      await this.#change(() => undefined);
    }
  }

  /** The key `ref` names; KEY_NOT_FOUND when there is none. A key past its deletion date is destroyed now. */
  async #find(ref: string): Promise<KeyRecord> {
    const record = lookUp(this.#keys, this.#labels, ref);
    if (record === undefined) throw notFound();
    if (isPastDeletion(record, this.#clock())) {
      await this.#destroyDueKeys();
      throw notFound();
    }
    return record;
  }

  /** The key, if it may be used: KEY_DISABLED when disabled or pending deletion. */
  async #usable(key: KeyFacts): Promise<KeyRecord> {
    const record = await this.#find(key.ref);
    if (record.state !== 'ENABLED') throw notUsable(record);
    return record;
  }
}
