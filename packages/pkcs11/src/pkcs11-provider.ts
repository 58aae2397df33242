import { randomBytes, timingSafeEqual } from 'node:crypto';
import {
  algorithmInfo,
  algorithmsFor,
  type Capabilities,
  type CipherInput,
  type CreateKeyRequest,
  ecdsaDerToP1363,
  ecdsaP1363ToDer,
  ecPointToSpki,
  type KeyDescription,
  type KeyFacts,
  type KeyList,
  KeyProvider,
  type KeyProviderOptions,
  type KeySpec,
  KeyswitchError,
  type KeyUsage,
  keySpecInfo,
  type MacAlgorithm,
  type ParsedPublicKey,
  rsaPublicKeyToSpki,
  Secret,
  type SignInput,
  unwrapEcPointOctetString,
} from '@keyswitch/core';
import type { Template } from 'pkcs11js';
import { formatPkcs11Uri, type Pkcs11ObjectType, type Pkcs11Uri, parsePkcs11Uri } from './key-uri.js';
import { type ProbeResult, probeCapabilities } from './lib/capability-probe.js';
import { blobAad, blobHeader, decodeBlob, encodeBlob } from './lib/ciphertext-blob.js';
import { CKA, CKK, CKO } from './lib/ck.js';
import {
  ckrName,
  isBadCiphertext,
  isBadSignature,
  isKeyFunctionNotPermitted,
  isSessionLost,
  isStaleHandle,
  pkcs11Error,
} from './lib/ckr.js';
import {
  enablingAttributes,
  type KeyAttributeFacts,
  keySpecOf,
  PRIVATE_USAGE_ATTRIBUTES,
  PUBLIC_USAGE_ATTRIBUTES,
  readBoolean,
  readUlong,
  SECRET_USAGE_ATTRIBUTES,
  stateAttributes,
  usageOf,
} from './lib/key-attributes.js';
import { type KeyGeneration, keyGeneration, sharedSecretTemplate } from './lib/key-templates.js';
import {
  aesGcmMechanism,
  digestInfo,
  digestOf,
  ECDSA_MECHANISM,
  ecdhMechanism,
  GCM_IV_BYTES,
  GCM_TAG_BYTES,
  hmacMechanism,
  RSA_PKCS_MECHANISM,
  rsaOaepMechanism,
  rsaPssMechanism,
} from './lib/mechanisms.js';
import { type PooledSession, SessionPool } from './lib/session-pool.js';
import { acquireModule, type Handle, type Pkcs11Library, type SharedModule } from './lib/shared-module.js';
import { type FoundToken, findToken, type TokenSelector } from './lib/token.js';
import { type StateCheck, type WorkerCall, WorkerExecutor } from './lib/worker-executor.js';
import { PKCS11_PROFILES, type Pkcs11Profile, type Pkcs11ProfileName, pkcs11Profile } from './profiles.js';

/** How to open a {@link Pkcs11Provider}. */
export interface Pkcs11ProviderOptions extends KeyProviderOptions {
  /** Path of the PKCS#11 module (absolute, or relative to `baseDir`). */
  readonly module: string;
  /** The token family whose quirks apply (default `generic`). */
  readonly profile?: Pkcs11ProfileName;
  /** Which token: by label, serial number or slot id. */
  readonly token: TokenSelector;
  /** The normal user's PIN (AWS CloudHSM: `crypto-user:password`). */
  readonly pin: string | Secret;
  /** Sessions in the pool: the most operations in flight at once (default 8). */
  readonly sessions?: number;
  /** C_Initialize library parameters, as the module should read them (NSS: `configdir='sql:DIR' …`). */
  readonly libraryParameters?: string;
  /** How long an operation may wait for a session or for the token, in ms (default 30000). */
  readonly operationTimeoutMs?: number;
  /** The directory a relative module path is resolved against (default the working directory). */
  readonly baseDir?: string;
  /**
   * Where cryptographic calls run: `async` (*Init on the main thread, the call on the libuv pool through
   * pkcs11js's asynchronous functions; best when *Init is cheap, as on SoftHSM2) or `worker` (*Init and the
   * call together on worker threads; for tokens whose *Init is slow, as NSS softokn's with RSA keys).
   * Default: the profile's.
   */
  readonly execution?: 'async' | 'worker';
  /** Worker threads for `execution: 'worker'` (default 2 to 4, by CPU count). */
  readonly workerThreads?: number;
}

/** The token a provider is bound to. */
export interface Pkcs11TokenInfo {
  readonly label: string;
  readonly serial: string;
  readonly manufacturer: string;
  readonly model: string;
  readonly slotId: number;
  /** The slot handle, as pkcs11js represents it. */
  readonly slot: Buffer;
}

type KeyKind = 'pair' | 'public' | 'secret';

/** A key's objects on the token and what their attributes say, cached per reference. */
interface ResolvedKey {
  readonly kind: KeyKind;
  /** The private key of a pair, the public key alone, or the secret key. */
  readonly primary: Handle;
  readonly privateKey: Handle | undefined;
  readonly publicKey: Handle | undefined;
  readonly id: Buffer;
  readonly label: string | undefined;
  readonly spec: KeySpec;
  readonly usage: KeyUsage;
  readonly enabled: boolean;
  readonly publicFlags: ReadonlyMap<number, boolean> | undefined;
  /** For a public key alone: its private half, when the token holds it (it carries the key's state). */
  readonly stateKey: Handle | undefined;
  readonly generation: number;
}

/** A cryptographic call with a key (everything the worker runs but C_Verify and C_GenerateRandom). */
type KeyCall = Exclude<WorkerCall, { op: 'verify' | 'random' }>;

const MAX_CACHED_REFERENCES = 10_000;
const FIND_BATCH = 64;

/**
 * A keyswitch provider on a PKCS#11 token: AWS CloudHSM, an on-premises HSM, SoftHSM2 or NSS softokn.
 * Keys are addressed by RFC 7512 `pkcs11:` URIs. Cryptographic calls run on the libuv thread pool through
 * pkcs11js's asynchronous functions, on a pool of sessions; a session the token lost is rebuilt (with its
 * login) and the operation retried once.
 *
 * Key state: PKCS#11 keys have none. disableKey clears the key's usage attributes with
 * C_SetAttributeValue and enableKey sets those of its usage again (not offered where the token cannot,
 * as on AWS CloudHSM); every operation first checks the key is enabled. scheduleKeyDeletion is not
 * offered: see the README.
 *
 * @example
 * ```ts
 * const hsm = await Pkcs11Provider.open({
 *   module: '/usr/lib/softhsm/libsofthsm2.so', profile: 'softhsm',
 *   token: { label: 'keyswitch' }, pin: process.env.HSM_PIN!,
 * });
 * const key = await hsm.createKey({ spec: 'ECC_NIST_P256', usage: 'SIGN_VERIFY', label: 'acs-signing' });
 * const signature = await hsm.sign({ ref: key.ref, algorithm: 'ECDSA_SHA_256', message });
 * await hsm.close();
 * ```
 */
export class Pkcs11Provider extends KeyProvider {
  readonly type = 'pkcs11';
  readonly #module: SharedModule;
  readonly #library: Pkcs11Library;
  readonly #token: FoundToken;
  readonly #pool: SessionPool;
  readonly #profile: Pkcs11Profile;
  readonly #keys = new Map<string, ResolvedKey>();
  readonly #uris = new Map<string, Pkcs11Uri>();
  readonly #executor: WorkerExecutor | undefined;
  /** Key creations per label, chained so that the label-uniqueness check and the generation never interleave. */
  readonly #creating = new Map<string, Promise<unknown>>();
  #probe: Promise<ProbeResult> | undefined;

  private constructor(
    options: Pkcs11ProviderOptions,
    parts: {
      module: SharedModule;
      token: FoundToken;
      pool: SessionPool;
      profile: Pkcs11Profile;
      executor: WorkerExecutor | undefined;
    },
  ) {
    super(options);
    this.#module = parts.module;
    this.#library = parts.module.library;
    this.#token = parts.token;
    this.#pool = parts.pool;
    this.#profile = parts.profile;
    this.#executor = parts.executor;
  }

  /**
   * Loads the module (once per process), finds the token, and opens and logs in a first session, so a
   * wrong PIN or a missing token is reported here rather than on the first operation.
   *
   * @throws CONFIG_INVALID for bad options; UNAVAILABLE (retryable) when the module or token cannot be
   * reached; ACCESS_DENIED when the PIN is refused
   */
  static async open(options: Pkcs11ProviderOptions): Promise<Pkcs11Provider> {
    const profile = pkcs11Profile(checkOptions(options));
    const pin = options.pin instanceof Secret ? options.pin : new Secret(options.pin);
    const pinProblem = profile.pinProblem?.(pin.reveal());
    if (pinProblem !== undefined) throw new KeyswitchError('CONFIG_INVALID', pinProblem, { path: 'pin' });
    const module = await acquireModule(options.module, {
      libraryParameters: options.libraryParameters,
      baseDir: options.baseDir,
    });
    let pool: SessionPool | undefined;
    let executor: WorkerExecutor | undefined;
    try {
      const token = findToken(module.library, options.token);
      pool = new SessionPool({
        module,
        slot: token.slot,
        pin,
        size: options.sessions ?? 8,
        timeoutMs: options.operationTimeoutMs ?? 30_000,
      });
      pool.release(await pool.acquire());
      const execution = options.execution ?? profile.execution;
      executor =
        execution === 'worker'
          ? new WorkerExecutor({ module: module.path, threads: options.workerThreads })
          : undefined;
      return new Pkcs11Provider(options, { module, token, pool, profile, executor });
    } catch (error) {
      executor?.close();
      await pool?.close(0);
      module.release();
      throw error;
    }
  }

  /** The token this provider uses. */
  get token(): Pkcs11TokenInfo {
    const { label, serial, manufacturer, model, slotId, slot } = this.#token;
    return { label, serial, manufacturer, model, slotId, slot };
  }

  /** The profile whose quirks apply. */
  get profile(): Pkcs11ProfileName {
    return this.#profile.name;
  }

  /** Where cryptographic calls run: `async` (libuv pool) or `worker` (worker threads). */
  get execution(): 'async' | 'worker' {
    return this.#executor ? 'worker' : 'async';
  }

  /** The session pool's size. */
  get sessions(): number {
    return this.#pool.size;
  }

  // ---- manifest and key lifecycle -----------------------------------------------------------------

  protected onCapabilities(): Promise<Capabilities> {
    this.#probe ??= this.#withSession('capability probe', (session) =>
      probeCapabilities({
        library: this.#library,
        slot: this.#token.slot,
        tokenFlags: this.#token.flags,
        session: session.handle,
        profile: this.#profile,
        run: (what, call) => this.#pool.run(session, what, call),
      }),
    ).catch((error: unknown) => {
      this.#probe = undefined;
      throw error;
    });
    return this.#probe.then((result) => result.capabilities);
  }

  protected async onDescribeKey(ref: string): Promise<KeyDescription> {
    const capabilities = await this.capabilities();
    return this.#withKey(ref, 'describeKey', async (_session, key) => this.#description(key, capabilities), {
      fresh: true,
    });
  }

  protected override async onListKeys(options: { limit: number; nextToken?: string }): Promise<KeyList> {
    const capabilities = await this.capabilities();
    const offset = options.nextToken === undefined ? 0 : Number(options.nextToken);
    if (!Number.isSafeInteger(offset) || offset < 0 || String(offset) !== (options.nextToken ?? '0')) {
      throw new KeyswitchError('INVALID_INPUT', 'nextToken is not one this provider returned');
    }
    return this.#withSession('listKeys', async (session) => {
      await this.#searchable();
      const entries = this.#listKeyObjects(session.handle);
      const keys: KeyDescription[] = [];
      let next = offset;
      // Objects keyswitch has no key spec for (RSA-1024, DES, certificates' keys on other curves) are skipped.
      for (; next < entries.length && keys.length < options.limit; next += 1) {
        const entry = entries[next]!;
        try {
          keys.push(this.#description(this.#readKey(session.handle, entry.kind, entry.handle), capabilities));
        } catch (error) {
          if (!(error instanceof KeyswitchError && error.code === 'UNSUPPORTED_ALGORITHM')) throw error;
        }
      }
      return next < entries.length ? { keys, nextToken: String(next) } : { keys };
    });
  }

  protected override onCreateKey(request: CreateKeyRequest): Promise<KeyDescription> {
    const label = request.label;
    if (label === undefined) return this.#createKey(request);
    // Two creations with one label would both pass the uniqueness check before either generates: one at
    // a time per label (SoftHSM2 is serialised anyway: it never searches while generating).
    const previous = this.#creating.get(label) ?? Promise.resolve();
    const created = previous.then(() => this.#createKey(request));
    const settled = created.then(
      () => undefined,
      () => undefined,
    );
    this.#creating.set(label, settled);
    void settled.then(() => {
      if (this.#creating.get(label) === settled) this.#creating.delete(label);
    });
    return created;
  }

  async #createKey(request: CreateKeyRequest): Promise<KeyDescription> {
    const capabilities = await this.capabilities();
    const id = randomBytes(16);
    const generation = keyGeneration(request.spec, request.usage, id, request.label);
    let generating = false;
    return this.#withSession(
      'createKey',
      async (session) => {
        await this.#searchable();
        if (request.label !== undefined) {
          for (const objectClass of [CKO.PRIVATE_KEY, CKO.SECRET_KEY, CKO.PUBLIC_KEY]) {
            const found = this.#find(session.handle, [
              { type: CKA.CLASS, value: objectClass },
              { type: CKA.LABEL, value: request.label },
            ]);
            if (found.length > 0) {
              throw new KeyswitchError(
                'INVALID_INPUT',
                `a key labelled "${request.label}" already exists on token "${this.#token.label}"; labels name keys, so they must be unique`,
              );
            }
          }
        }
        generating = true;
        const key = await this.#generate(session, generation);
        const description = this.#description(key, capabilities);
        this.#keys.set(description.ref, key);
        return description;
      },
      // Retried only when the session was lost before the key was generated: never create a key twice.
      { retry: () => !generating },
    );
  }

  /**
   * Generates a key on a lent session. A generation that fails with CKR_GENERAL_ERROR created no key and
   * is tried again (twice at most): SoftHSM2's file store can fail it when another thread touches the
   * store at that moment. On SoftHSM2 a P-384 pair generation under full test load has also failed once with
   * CKR_TEMPLATE_INCONSISTENT for a template that succeeds every other time, which we take to be the same
   * race, so on that profile that code is retried too; a template that is really refused fails every try.
   */
  async #generate(session: PooledSession, generation: KeyGeneration): Promise<ResolvedKey> {
    const library = this.#library;
    for (let attempt = 0; ; attempt += 1) {
      try {
        if (generation.kind === 'secret') {
          const handle = await this.#module.creating(
            this.#pool.run(
              session,
              'C_GenerateKey',
              library.C_GenerateKeyAsync(session.handle, generation.mechanism, generation.template),
            ),
          );
          return this.#readKey(session.handle, 'secret', handle);
        }
        const pair = await this.#module.creating(
          this.#pool.run(
            session,
            'C_GenerateKeyPair',
            library.C_GenerateKeyPairAsync(
              session.handle,
              generation.mechanism,
              generation.publicTemplate,
              generation.privateTemplate,
            ),
          ),
        );
        return this.#readKey(session.handle, 'pair', pair.privateKey, pair.publicKey);
      } catch (error) {
        if (attempt < 2 && isRacedGeneration(ckrName(error), this.#profile.searchRacesCreation)) continue;
        throw templateRefused(error);
      }
    }
  }

  protected override async onEnableKey(key: KeyFacts): Promise<void> {
    await this.#withKey(
      key.ref,
      'enableKey',
      async (session, resolved) => {
        const attributes = enablingAttributes(resolved.spec, resolved.usage);
        this.#setFlags(session.handle, this.#stateful(resolved), attributes, true);
        this.#keys.delete(key.ref);
      },
      { fresh: true },
    );
  }

  protected override async onDisableKey(key: KeyFacts): Promise<void> {
    await this.#withKey(
      key.ref,
      'disableKey',
      async (session, resolved) => {
        const handle = this.#stateful(resolved);
        const attributes = resolved.kind === 'secret' ? SECRET_STATE_ATTRIBUTES : PRIVATE_STATE_ATTRIBUTES;
        const current = this.#readFlagsPresent(session.handle, handle, attributes);
        const set = attributes.filter((attribute) => current.get(attribute) === true);
        this.#setFlags(session.handle, handle, set, false);
        this.#keys.delete(key.ref);
      },
      { fresh: true },
    );
  }

  // ---- operations ---------------------------------------------------------------------------------

  protected override async onGetPublicKey(key: KeyFacts): Promise<Uint8Array> {
    return this.#withKey(key.ref, 'getPublicKey', async (session, resolved) => {
      this.#assertEnabled(session.handle, resolved);
      const info = keySpecInfo(resolved.spec);
      const publicKey = resolved.publicKey;
      if (info.family === 'RSA') {
        const [modulus, exponent] = this.#library.C_GetAttributeValue(
          session.handle,
          publicKey ?? resolved.primary,
          [{ type: CKA.MODULUS }, { type: CKA.PUBLIC_EXPONENT }],
        );
        return rsaPublicKeyToSpki(modulus!.value, exponent!.value);
      }
      if (publicKey === undefined) throw noPublicObject();
      const [point] = this.#library.C_GetAttributeValue(session.handle, publicKey, [{ type: CKA.EC_POINT }]);
      return ecPointToSpki(info.curve!, unwrapEcPointOctetString(point!.value));
    });
  }

  protected override async onSign(key: KeyFacts, input: SignInput): Promise<Uint8Array> {
    const info = algorithmInfo(input.algorithm);
    const hash = info.hash!;
    const digest =
      input.messageType === 'DIGEST' ? Buffer.from(input.message) : digestOf(hash, input.message);
    return this.#withKey(key.ref, 'sign', async (session, resolved) => {
      const privateKey = requirePrivate(resolved, 'signing');
      const spec = keySpecInfo(resolved.spec);
      if (info.family === 'ECDSA') {
        const raw = await this.#crypto(session, resolved, privateKey, {
          op: 'sign',
          mechanism: ECDSA_MECHANISM,
          data: digest,
          outputLength: 2 * spec.coordinateBytes!,
        });
        return ecdsaP1363ToDer(raw);
      }
      const pss = info.family === 'RSA_PSS';
      const signature = await this.#crypto(session, resolved, privateKey, {
        op: 'sign',
        mechanism: pss ? rsaPssMechanism(hash) : RSA_PKCS_MECHANISM,
        data: pss ? digest : digestInfo(hash, digest),
        outputLength: spec.bits / 8,
      });
      return new Uint8Array(signature);
    });
  }

  protected override async onVerify(
    key: KeyFacts,
    input: SignInput & { readonly signature: Uint8Array },
  ): Promise<boolean> {
    const info = algorithmInfo(input.algorithm);
    const hash = info.hash!;
    const digest =
      input.messageType === 'DIGEST' ? Buffer.from(input.message) : digestOf(hash, input.message);
    return this.#withKey(key.ref, 'verify', async (session, resolved) => {
      const publicKey = requirePublic(resolved);
      const spec = keySpecInfo(resolved.spec);
      let call: WorkerCall;
      if (info.family === 'ECDSA') {
        let raw: Uint8Array;
        try {
          raw = ecdsaDerToP1363(input.signature, spec.coordinateBytes!);
        } catch {
          return false; // not a DER signature of this curve's size
        }
        call = { op: 'verify', mechanism: ECDSA_MECHANISM, data: digest, signature: Buffer.from(raw) };
      } else {
        if (input.signature.length !== spec.bits / 8) return false;
        const pss = info.family === 'RSA_PSS';
        call = {
          op: 'verify',
          mechanism: pss ? rsaPssMechanism(hash) : RSA_PKCS_MECHANISM,
          data: pss ? digest : digestInfo(hash, digest),
          signature: Buffer.from(input.signature),
        };
      }
      try {
        return await this.#verifyCall(session, resolved, publicKey, call);
      } catch (error) {
        if (isBadSignature(error)) return false;
        throw error;
      }
    });
  }

  protected override async onEncrypt(key: KeyFacts, input: CipherInput): Promise<Uint8Array> {
    const data = Buffer.from(input.data);
    return this.#withKey(key.ref, 'encrypt', async (session, resolved) => {
      if (input.algorithm !== 'SYMMETRIC_DEFAULT') {
        const ciphertext = await this.#crypto(session, resolved, requirePublic(resolved), {
          op: 'encrypt',
          mechanism: rsaOaepMechanism(algorithmInfo(input.algorithm).hash!),
          data,
          outputLength: keySpecInfo(resolved.spec).bits / 8,
        });
        return new Uint8Array(ciphertext);
      }
      const header = blobHeader(resolved.id);
      const tokenIv = this.#profile.gcmIv === 'token';
      let iv: Buffer = tokenIv ? Buffer.alloc(GCM_IV_BYTES) : randomBytes(GCM_IV_BYTES);
      const outputLength = data.length + GCM_TAG_BYTES + GCM_IV_BYTES;
      const mechanism = aesGcmMechanism(iv, blobAad(header, input.context));
      // The token-generated IV may come back through the IV pointer, which only the main thread's buffer sees.
      let sealed = tokenIv
        ? await this.#mainThreadCall(
            session,
            resolved,
            resolved.primary,
            { op: 'encrypt', mechanism, data, outputLength },
            [iv],
          )
        : await this.#crypto(session, resolved, resolved.primary, {
            op: 'encrypt',
            mechanism,
            data,
            outputLength,
          });
      if (tokenIv) {
        if (sealed.length === data.length + GCM_TAG_BYTES + GCM_IV_BYTES) {
          iv = sealed.subarray(sealed.length - GCM_IV_BYTES); // the HSM's IV, appended
          sealed = sealed.subarray(0, sealed.length - GCM_IV_BYTES);
        } else if (iv.every((byte) => byte === 0)) {
          throw new KeyswitchError(
            'INTERNAL',
            'the token was expected to generate the AES-GCM IV but returned none',
          );
        }
      }
      return encodeBlob(header, iv, sealed);
    });
  }

  protected override async onDecrypt(key: KeyFacts, input: CipherInput): Promise<Uint8Array> {
    return this.#withKey(key.ref, 'decrypt', async (session, resolved) => {
      let call: WorkerCall;
      let handle: Handle;
      if (input.algorithm !== 'SYMMETRIC_DEFAULT') {
        handle = requirePrivate(resolved, 'decryption');
        call = {
          op: 'decrypt',
          mechanism: rsaOaepMechanism(algorithmInfo(input.algorithm).hash!),
          data: Buffer.from(input.data),
          outputLength: keySpecInfo(resolved.spec).bits / 8,
        };
      } else {
        const blob = decodeBlob(input.data);
        if (!resolved.id.equals(blob.keyId)) {
          throw new KeyswitchError('INVALID_CIPHERTEXT', 'the ciphertext was not encrypted under this key');
        }
        handle = resolved.primary;
        call = {
          op: 'decrypt',
          mechanism: aesGcmMechanism(Buffer.from(blob.iv), blobAad(blob.header, input.context)),
          data: Buffer.from(blob.sealed),
          outputLength: blob.sealed.length,
        };
      }
      try {
        return new Uint8Array(await this.#crypto(session, resolved, handle, call));
      } catch (error) {
        if (isBadCiphertext(error, this.#profile.generalErrorIsBadCiphertext)) {
          throw new KeyswitchError(
            'INVALID_CIPHERTEXT',
            'the ciphertext does not decrypt under this key and context',
            {
              cause: error,
            },
          );
        }
        // Where it is not SoftHSM2's answer to a failed tag, CKR_GENERAL_ERROR is the token failing.
        if (ckrName(error) === 'CKR_GENERAL_ERROR') throw pkcs11Error(error, 'C_Decrypt', 'UNAVAILABLE');
        throw error;
      }
    });
  }

  protected override async onGenerateMac(
    key: KeyFacts,
    input: { algorithm: MacAlgorithm; message: Uint8Array },
  ): Promise<Uint8Array> {
    const message = Buffer.from(input.message);
    return this.#withKey(key.ref, 'generateMac', async (session, resolved) => {
      return new Uint8Array(await this.#mac(session, resolved, input.algorithm, message));
    });
  }

  /** Computes the MAC on the token and compares in constant time (NSS answers C_Verify of HMAC oddly). */
  protected override async onVerifyMac(
    key: KeyFacts,
    input: { algorithm: MacAlgorithm; message: Uint8Array; mac: Uint8Array },
  ): Promise<boolean> {
    const message = Buffer.from(input.message);
    return this.#withKey(key.ref, 'verifyMac', async (session, resolved) => {
      const expected = await this.#mac(session, resolved, input.algorithm, message);
      return expected.length === input.mac.length && timingSafeEqual(expected, input.mac);
    });
  }

  protected override async onDeriveSharedSecret(key: KeyFacts, peer: ParsedPublicKey): Promise<Uint8Array> {
    const point = peer.ec!.point;
    return this.#withKey(key.ref, 'deriveSharedSecret', async (session, resolved) => {
      const trusted = this.#profile.enforcesUsageAttributes;
      if (!trusted) this.#assertEnabled(session.handle, resolved);
      const privateKey = requirePrivate(resolved, 'key agreement');
      const size = keySpecInfo(resolved.spec).coordinateBytes!;
      const library = this.#library;
      const publicData = Buffer.from(point);
      const mechanism = ecdhMechanism(publicData);
      let derived: Handle;
      try {
        derived = await this.#pool.run(
          session,
          'C_DeriveKey',
          library.C_DeriveKeyAsync(session.handle, mechanism, privateKey, sharedSecretTemplate(size)),
          [publicData],
        );
      } catch (error) {
        if (trusted) this.#explainRefusal(session.handle, resolved, error);
        throw error;
      }
      try {
        const [value] = library.C_GetAttributeValue(session.handle, derived, [{ type: CKA.VALUE }]);
        const secret = new Uint8Array(value!.value);
        value!.value.fill(0);
        return secret;
      } finally {
        try {
          library.C_DestroyObject(session.handle, derived);
        } catch {
          // a session object: it goes with its session anyway
        }
      }
    });
  }

  protected override async onGenerateRandom(length: number): Promise<Uint8Array> {
    return this.#withSession('generateRandom', async (session) => {
      if (this.#executor) {
        // C_GenerateRandom is synchronous in pkcs11js: off the main thread where calls run on workers.
        const running = this.#executor.call(session.handle, undefined, {
          op: 'random',
          outputLength: length,
        });
        return new Uint8Array((await this.#pool.run(session, 'C_GenerateRandom', running)) as Buffer);
      }
      const bytes = this.#library.C_GenerateRandom(session.handle, Buffer.alloc(length));
      return new Uint8Array(bytes);
    });
  }

  protected override async onClose(): Promise<void> {
    // The base class has waited for public calls in flight; the pool waits for native calls that
    // outlived their timeout. The module is finalized only when no native call is running.
    await this.#pool.close();
    this.#executor?.close();
    this.#keys.clear();
    this.#module.release();
  }

  // ---- cryptographic calls ------------------------------------------------------------------------

  /**
   * One cryptographic call with its *Init: on a worker thread when the profile says *Init is slow on this
   * token, else *Init here and the call on the libuv pool (pkcs11js's asynchronous form).
   */
  #crypto(session: PooledSession, resolved: ResolvedKey, key: Handle, call: KeyCall): Promise<Buffer> {
    if (this.#executor) {
      const running = this.#executor.call(session.handle, key, call, stateCheck(resolved));
      return this.#pool.run(session, `C_${capitalize(call.op)}`, running) as Promise<Buffer>;
    }
    return this.#mainThreadCall(session, resolved, key, call);
  }

  #verifyCall(
    session: PooledSession,
    resolved: ResolvedKey,
    key: Handle,
    call: Extract<WorkerCall, { op: 'verify' }>,
  ): Promise<boolean> {
    if (this.#executor) {
      const running = this.#executor.call(session.handle, key, call, stateCheck(resolved));
      return this.#pool.run(session, 'C_Verify', running) as Promise<boolean>;
    }
    this.#assertEnabled(session.handle, resolved);
    const library = this.#library;
    library.C_VerifyInit(session.handle, call.mechanism, key);
    return this.#pool.run(
      session,
      'C_Verify',
      library.C_VerifyAsync(session.handle, call.data, call.signature),
      [call.data, call.signature],
    );
  }

  #mainThreadCall(
    session: PooledSession,
    resolved: ResolvedKey,
    key: Handle,
    call: KeyCall,
    keep: readonly Buffer[] = [],
  ): Promise<Buffer> {
    // Tokens that enforce the usage attributes refuse a disabled key themselves: check only on refusal.
    // A public key alone is never refused by the token: its private half's state is checked here.
    const trusted =
      this.#profile.enforcesUsageAttributes && resolved.kind !== 'public' && key === resolved.primary;
    if (!trusted) this.#assertEnabled(session.handle, resolved);
    try {
      return this.#startCall(session, key, call, keep);
    } catch (error) {
      if (trusted) this.#explainRefusal(session.handle, resolved, error);
      throw error;
    }
  }

  /** *Init here, then the call on the libuv pool. */
  #startCall(session: PooledSession, key: Handle, call: KeyCall, keep: readonly Buffer[]): Promise<Buffer> {
    const library = this.#library;
    const output = Buffer.alloc(call.outputLength);
    const pinned = [call.data, output, ...keep];
    switch (call.op) {
      case 'sign':
        library.C_SignInit(session.handle, call.mechanism, key);
        return this.#pool.run(
          session,
          'C_Sign',
          library.C_SignAsync(session.handle, call.data, output),
          pinned,
        );
      case 'encrypt':
        library.C_EncryptInit(session.handle, call.mechanism, key);
        return this.#pool.run(
          session,
          'C_Encrypt',
          library.C_EncryptAsync(session.handle, call.data, output),
          pinned,
        );
      case 'decrypt':
        library.C_DecryptInit(session.handle, call.mechanism, key);
        return this.#pool.run(
          session,
          'C_Decrypt',
          library.C_DecryptAsync(session.handle, call.data, output),
          pinned,
        );
    }
  }

  #mac(session: PooledSession, key: ResolvedKey, algorithm: MacAlgorithm, message: Buffer): Promise<Buffer> {
    const { mechanism, length } = hmacMechanism(algorithm);
    return this.#crypto(session, key, key.primary, {
      op: 'sign',
      mechanism,
      data: message,
      outputLength: length,
    });
  }

  // ---- sessions, retries and key lookup -----------------------------------------------------------

  /**
   * Runs `body` on a pooled session. A session the token lost is rebuilt and, when `retry` (the operation
   * is idempotent), the body runs once more; a stale object handle is looked up again and retried once.
   */
  async #withSession<T>(
    what: string,
    body: (session: PooledSession) => Promise<T>,
    options: { retry?: () => boolean; ref?: string } = {},
  ): Promise<T> {
    for (let attempt = 0; ; attempt += 1) {
      const session = await this.#pool.acquire();
      try {
        return await body(session);
      } catch (error) {
        // A session that lost its login shows it in odd ways (stale private handles on SoftHSM2,
        // CKR_HOST_MEMORY on NSS): ask the session before deciding what the error means.
        if (
          attempt === 0 &&
          (sessionNeedsRebuild(error) || (ckrName(error) !== undefined && !this.#pool.isLoggedIn(session)))
        ) {
          this.#pool.invalidate(session);
          this.#keys.clear();
          if (options.retry?.() ?? true) continue;
        } else if (attempt === 0 && options.ref !== undefined && isStaleHandle(error)) {
          this.#keys.delete(options.ref);
          continue;
        }
        const mapped = pkcs11Error(error, callName(error) ?? what);
        if (mapped.code === 'INTERNAL' || mapped.code === 'KEY_NOT_FOUND') this.#assertTokenPresent(mapped);
        throw mapped;
      } finally {
        this.#pool.release(session);
      }
    }
  }

  #withKey<T>(
    ref: string,
    what: string,
    body: (session: PooledSession, key: ResolvedKey) => Promise<T>,
    options: { fresh?: boolean } = {},
  ): Promise<T> {
    const uri = this.#uri(ref);
    let fresh = options.fresh === true;
    return this.#withSession(
      what,
      async (session) => {
        let key = this.#keys.get(ref);
        if (fresh || key === undefined || key.generation !== this.#pool.generation) {
          await this.#searchable();
          key = this.#lookup(session, uri, ref);
          fresh = false;
          if (this.#keys.size >= MAX_CACHED_REFERENCES) this.#keys.clear();
          this.#keys.set(ref, key);
        }
        return body(session, key);
      },
      { ref },
    );
  }

  #uri(ref: string): Pkcs11Uri {
    let uri = this.#uris.get(ref);
    if (uri === undefined) {
      uri = parsePkcs11Uri(ref);
      if (uri.type === 'cert' || uri.type === 'data') {
        throw new KeyswitchError(
          'INVALID_INPUT',
          `invalid pkcs11: URI: type=${uri.type} does not name a key`,
        );
      }
      if (uri.object === undefined && uri.id === undefined) {
        throw new KeyswitchError(
          'INVALID_INPUT',
          'invalid pkcs11: URI: a key reference needs object= (CKA_LABEL) or id= (CKA_ID)',
        );
      }
      if (this.#uris.size >= MAX_CACHED_REFERENCES) this.#uris.clear();
      this.#uris.set(ref, uri);
    }
    return uri;
  }

  /** Finds the objects a URI names. */
  #lookup(session: PooledSession, uri: Pkcs11Uri, ref: string): ResolvedKey {
    const handle = session.handle;
    const token = this.#token;
    const mismatch =
      (uri.token !== undefined && uri.token !== token.label) ||
      (uri.serial !== undefined && uri.serial !== token.serial) ||
      (uri.manufacturer !== undefined && uri.manufacturer !== token.manufacturer) ||
      (uri.model !== undefined && uri.model !== token.model) ||
      (uri.slotId !== undefined && uri.slotId !== token.slotId);
    if (mismatch) {
      throw new KeyswitchError(
        'KEY_NOT_FOUND',
        `the reference names another token; this provider uses token "${token.label}"`,
      );
    }
    const match: Template = [];
    if (uri.object !== undefined) match.push({ type: CKA.LABEL, value: uri.object });
    if (uri.id !== undefined) match.push({ type: CKA.ID, value: Buffer.from(uri.id) });
    const search = (objectClass: number) =>
      this.#find(handle, [{ type: CKA.CLASS, value: objectClass }, ...match], 2);
    const single = (handles: Handle[], type: Pkcs11ObjectType): Handle | undefined => {
      if (handles.length > 1) {
        throw new KeyswitchError(
          'INVALID_INPUT',
          `more than one ${type} key matches ${ref}; add id= (or a more specific object=) to the reference`,
        );
      }
      return handles[0];
    };
    if (uri.type === 'private' || uri.type === undefined) {
      const privateKey = single(search(CKO.PRIVATE_KEY), 'private');
      const secretKey = uri.type === undefined ? single(search(CKO.SECRET_KEY), 'secret-key') : undefined;
      if (privateKey !== undefined && secretKey !== undefined) {
        throw new KeyswitchError(
          'INVALID_INPUT',
          `both a private key and a secret key match ${ref}; add type= to the reference`,
        );
      }
      if (privateKey !== undefined) return this.#readKey(handle, 'pair', privateKey);
      if (secretKey !== undefined) return this.#readKey(handle, 'secret', secretKey);
    }
    if (uri.type === 'secret-key') {
      const secretKey = single(search(CKO.SECRET_KEY), 'secret-key');
      if (secretKey !== undefined) return this.#readKey(handle, 'secret', secretKey);
    }
    if (uri.type === 'public' || uri.type === undefined) {
      const publicKey = single(search(CKO.PUBLIC_KEY), 'public');
      if (publicKey !== undefined) return this.#readKey(handle, 'public', publicKey);
    }
    if (!this.#pool.isLoggedIn(session)) {
      // Private objects are invisible to a session that lost its login: that is not "not found".
      throw Object.assign(new Error('CKR_USER_NOT_LOGGED_IN'), { method: 'C_FindObjects' });
    }
    this.#assertTokenPresent();
    throw new KeyswitchError('KEY_NOT_FOUND', `no key on token "${token.label}" matches the reference`);
  }

  /** Reads what keyswitch needs to know about a key from its objects' attributes. */
  #readKey(session: Handle, kind: KeyKind, primary: Handle, knownPublicKey?: Handle): ResolvedKey {
    const library = this.#library;
    const usageAttributes =
      kind === 'pair'
        ? PRIVATE_USAGE_ATTRIBUTES
        : kind === 'public'
          ? PUBLIC_USAGE_ATTRIBUTES
          : SECRET_USAGE_ATTRIBUTES;
    const common = library.C_GetAttributeValue(session, primary, [
      { type: CKA.KEY_TYPE },
      { type: CKA.ID },
      { type: CKA.LABEL },
      ...usageAttributes.map((type) => ({ type })),
    ]);
    const keyType = readUlong(common[0]!.value);
    const id = Buffer.from(common[1]!.value);
    const labelBytes = common[2]!.value;
    const label = labelBytes.length > 0 ? labelBytes.toString('utf8') : undefined;
    const primaryFlags = new Map(
      usageAttributes.map((type, index) => [type, readBoolean(common[3 + index]!.value)]),
    );

    let publicKey: Handle | undefined = kind === 'public' ? primary : knownPublicKey;
    let publicFlags: Map<number, boolean> | undefined;
    if (kind === 'pair') {
      const companion: Template | undefined =
        id.length > 0
          ? [{ type: CKA.ID, value: id }]
          : label !== undefined
            ? [{ type: CKA.LABEL, value: label }]
            : undefined;
      if (companion !== undefined && publicKey === undefined) {
        publicKey = this.#companion(session, CKO.PUBLIC_KEY, id, label);
      }
      if (publicKey !== undefined) publicFlags = this.#readFlags(session, publicKey, PUBLIC_USAGE_ATTRIBUTES);
    }

    const facts: KeyAttributeFacts = { keyType };
    const attribute = (handle: Handle | undefined, type: number): Buffer | undefined => {
      if (handle === undefined) return undefined;
      try {
        return library.C_GetAttributeValue(session, handle, [{ type }])[0]?.value;
      } catch (error) {
        if (ckrName(error) === 'CKR_ATTRIBUTE_TYPE_INVALID' || ckrName(error) === 'CKR_ATTRIBUTE_SENSITIVE')
          return undefined;
        throw error;
      }
    };
    let spec: KeySpec;
    if (kind === 'secret') {
      spec = keySpecOf({ ...facts, valueLength: readUlong(attribute(primary, CKA.VALUE_LEN)) });
    } else if (keyType === CKK.RSA) {
      spec = keySpecOf({
        ...facts,
        modulus: attribute(publicKey, CKA.MODULUS) ?? attribute(primary, CKA.MODULUS),
      });
    } else {
      spec = keySpecOf({
        ...facts,
        ecParams: attribute(primary, CKA.EC_PARAMS) ?? attribute(publicKey, CKA.EC_PARAMS),
      });
    }
    const { usage, enabled: primaryEnabled } = usageOf(spec, kind, {
      primary: primaryFlags,
      public: publicFlags,
    });
    let enabled = primaryEnabled;
    let stateKey: Handle | undefined;
    if (kind === 'public' && (id.length > 0 || label !== undefined)) {
      // A public key has no state of its own: its private half, when the token holds it, carries it.
      stateKey = this.#companion(session, CKO.PRIVATE_KEY, id, label);
      if (stateKey !== undefined) {
        enabled = [...this.#readFlags(session, stateKey, stateAttributes(spec)).values()].some(Boolean);
      }
    }
    return {
      kind,
      primary,
      privateKey: kind === 'pair' ? primary : undefined,
      publicKey,
      id,
      label,
      spec,
      usage,
      enabled,
      publicFlags,
      stateKey,
      generation: this.#pool.generation,
    };
  }

  #description(key: ResolvedKey, capabilities: Capabilities): KeyDescription {
    const ref = formatPkcs11Uri({
      token: this.#token.label,
      ...(key.label === undefined ? {} : { object: key.label }),
      ...(key.id.length === 0 ? {} : { id: key.id }),
      type: key.kind === 'pair' ? 'private' : key.kind === 'secret' ? 'secret-key' : 'public',
    });
    return {
      ref,
      keyId: key.id.length > 0 ? key.id.toString('hex') : ref,
      aliases: key.label === undefined ? [] : [key.label],
      spec: key.spec,
      usage: key.usage,
      algorithms: algorithmsFor(key.spec, key.usage).filter((algorithm) =>
        capabilities.algorithms.includes(algorithm),
      ),
      state: key.enabled ? 'ENABLED' : 'DISABLED',
    };
  }

  /** Every key object keyswitch lists: private keys, secret keys, and public keys without a private half; sorted. */
  #listKeyObjects(session: Handle): Array<{ kind: KeyKind; handle: Handle }> {
    const library = this.#library;
    const read = (handle: Handle) => {
      const [id, label] = library.C_GetAttributeValue(session, handle, [
        { type: CKA.ID },
        { type: CKA.LABEL },
      ]);
      return { id: id!.value.toString('hex'), label: label!.value.toString('utf8') };
    };
    const entries: Array<{ kind: KeyKind; handle: Handle; id: string; label: string }> = [];
    const privateNames = new Set<string>();
    for (const handle of this.#find(session, [{ type: CKA.CLASS, value: CKO.PRIVATE_KEY }])) {
      const names = read(handle);
      privateNames.add(names.id === '' ? `label:${names.label}` : `id:${names.id}`);
      entries.push({ kind: 'pair', handle, ...names });
    }
    for (const handle of this.#find(session, [{ type: CKA.CLASS, value: CKO.SECRET_KEY }])) {
      entries.push({ kind: 'secret', handle, ...read(handle) });
    }
    for (const handle of this.#find(session, [{ type: CKA.CLASS, value: CKO.PUBLIC_KEY }])) {
      const names = read(handle);
      if (!privateNames.has(names.id === '' ? `label:${names.label}` : `id:${names.id}`)) {
        entries.push({ kind: 'public', handle, ...names });
      }
    }
    return entries
      .filter((entry) => entry.id !== '' || entry.label !== '')
      .sort((a, b) =>
        a.label === b.label ? (a.id < b.id ? -1 : a.id > b.id ? 1 : 0) : a.label < b.label ? -1 : 1,
      );
  }

  /**
   * Waits, where the profile says searching races key generation (SoftHSM2), until no key is being
   * generated; the caller then searches synchronously, so no generation can start in between.
   */
  async #searchable(): Promise<void> {
    if (!this.#profile.searchRacesCreation) return;
    while (this.#module.generating) await this.#module.noCreations();
  }

  /**
   * The other half of a key pair (`objectClass`: CKO_PUBLIC_KEY or CKO_PRIVATE_KEY): same CKA_ID, or same
   * label when there is no id. Two objects with the id are narrowed by the label; still more than one is
   * an error, never a guess (another key's public half would verify or encrypt in this key's name).
   */
  #companion(
    session: Handle,
    objectClass: number,
    id: Buffer,
    label: string | undefined,
  ): Handle | undefined {
    const classTemplate = { type: CKA.CLASS, value: objectClass };
    const byLabel = label === undefined ? [] : [{ type: CKA.LABEL, value: label }];
    let found =
      id.length > 0
        ? this.#find(session, [classTemplate, { type: CKA.ID, value: id }], 2)
        : this.#find(session, [classTemplate, ...byLabel], 2);
    if (found.length > 1 && id.length > 0 && label !== undefined) {
      found = this.#find(session, [classTemplate, { type: CKA.ID, value: id }, ...byLabel], 2);
    }
    if (found.length > 1) {
      const kind = objectClass === CKO.PUBLIC_KEY ? 'public' : 'private';
      throw new KeyswitchError(
        'INVALID_INPUT',
        `more than one ${kind} key on token "${this.#token.label}" has this key's ` +
          `${id.length > 0 ? `CKA_ID ${id.toString('hex')}` : 'label'}${id.length > 0 && label !== undefined ? ' and label' : ''}, ` +
          `so its ${kind} half cannot be told apart; give the keys distinct CKA_IDs`,
      );
    }
    return found[0];
  }

  /** C_FindObjects over a template: up to `max` handles (all of them when absent). */
  #find(session: Handle, template: Template, max = Number.POSITIVE_INFINITY): Handle[] {
    const library = this.#library;
    library.C_FindObjectsInit(session, template);
    try {
      const found: Handle[] = [];
      while (found.length < max) {
        const batch = library.C_FindObjects(session, Math.min(FIND_BATCH, max - found.length));
        found.push(...batch);
        if (batch.length === 0) break;
      }
      return found;
    } finally {
      library.C_FindObjectsFinal(session);
    }
  }

  #readFlags(session: Handle, handle: Handle, attributes: readonly number[]): Map<number, boolean> {
    const values = this.#library.C_GetAttributeValue(
      session,
      handle,
      attributes.map((type) => ({ type })),
    );
    return new Map(attributes.map((type, index) => [type, readBoolean(values[index]?.value)]));
  }

  /** Like #readFlags, but skips attributes the object does not have (keys imported by other tools). */
  #readFlagsPresent(session: Handle, handle: Handle, attributes: readonly number[]): Map<number, boolean> {
    const flags = new Map<number, boolean>();
    for (const type of attributes) {
      try {
        flags.set(
          type,
          readBoolean(this.#library.C_GetAttributeValue(session, handle, [{ type }])[0]?.value),
        );
      } catch (error) {
        if (ckrName(error) !== 'CKR_ATTRIBUTE_TYPE_INVALID') throw error;
      }
    }
    return flags;
  }

  #setFlags(session: Handle, handle: Handle, attributes: readonly number[], value: boolean): void {
    if (attributes.length === 0) return;
    try {
      this.#library.C_SetAttributeValue(
        session,
        handle,
        attributes.map((type) => ({ type, value })),
      );
    } catch (error) {
      const name = ckrName(error);
      if (
        name === 'CKR_ATTRIBUTE_READ_ONLY' ||
        name === 'CKR_ACTION_PROHIBITED' ||
        name === 'CKR_FUNCTION_NOT_SUPPORTED'
      ) {
        throw new KeyswitchError(
          'UNSUPPORTED_ALGORITHM',
          `the token does not let keyswitch change this key's usage attributes (${name}); its state cannot be changed`,
          { cause: error },
        );
      }
      throw error;
    }
  }

  /**
   * Throws UNAVAILABLE when the token is gone (removed, or its store deleted): keys vanishing and odd
   * failures then mean "cannot reach the token", not "no such key".
   */
  #assertTokenPresent(cause?: unknown): void {
    try {
      this.#library.C_GetTokenInfo(this.#token.slot);
    } catch (error) {
      throw new KeyswitchError('UNAVAILABLE', `token "${this.#token.label}" is no longer present`, {
        cause: cause ?? error,
      });
    }
  }

  /** The object that carries a key's state (private or secret key); public keys alone have none. */
  #stateful(key: ResolvedKey): Handle {
    if (key.kind === 'public') {
      throw new KeyswitchError(
        'UNSUPPORTED_ALGORITHM',
        'the reference names a public key alone, which has no state to change',
      );
    }
    return key.primary;
  }

  /**
   * Refuses a disabled key, reading its usage attributes fresh (one C_GetAttributeValue): not every token
   * enforces them (NSS softokn ignores CKA_DERIVE), and a public key never knows its private half is
   * disabled. A stale handle fails here and is looked up again.
   */
  /** After the token refused a key: KEY_DISABLED when that is why (else the caller rethrows the refusal). */
  #explainRefusal(session: Handle, key: ResolvedKey, error: unknown): void {
    if (isKeyFunctionNotPermitted(error)) this.#assertEnabled(session, key);
  }

  #assertEnabled(session: Handle, key: ResolvedKey): void {
    const check = stateCheck(key);
    if (check === undefined) return;
    const flags = this.#readFlags(session, check.handle, check.attributes);
    if (![...flags.values()].some(Boolean)) throw new KeyswitchError('KEY_DISABLED', 'the key is disabled');
  }
}

/** Usage attributes disableKey clears on a private key. */
const PRIVATE_STATE_ATTRIBUTES: readonly number[] = [
  CKA.SIGN,
  CKA.DECRYPT,
  CKA.DERIVE,
  CKA.UNWRAP,
  CKA.SIGN_RECOVER,
];
/** Usage attributes disableKey clears on a secret key. */
const SECRET_STATE_ATTRIBUTES: readonly number[] = [
  CKA.ENCRYPT,
  CKA.DECRYPT,
  CKA.SIGN,
  CKA.VERIFY,
  CKA.WRAP,
  CKA.UNWRAP,
  CKA.DERIVE,
];

function checkOptions(options: Pkcs11ProviderOptions): Pkcs11ProfileName {
  const problem = (path: string, detail: string) => new KeyswitchError('CONFIG_INVALID', detail, { path });
  if (typeof options?.module !== 'string' || options.module === '')
    throw problem('module', 'expected the path of the PKCS#11 module');
  const profile = options.profile ?? 'generic';
  if (!PKCS11_PROFILES.includes(profile))
    throw problem('profile', `expected one of ${PKCS11_PROFILES.join(', ')}`);
  const token = options.token as Record<string, unknown> | undefined;
  const validToken =
    typeof token === 'object' &&
    token !== null &&
    Object.keys(token).length === 1 &&
    ((typeof token.label === 'string' && token.label !== '') ||
      (typeof token.serial === 'string' && token.serial !== '') ||
      (typeof token.slot === 'number' && Number.isInteger(token.slot) && token.slot >= 0));
  if (!validToken) throw problem('token', 'expected { label }, { serial } or { slot }');
  if (!(options.pin instanceof Secret) && (typeof options.pin !== 'string' || options.pin === '')) {
    throw problem('pin', 'expected the PIN (a string or a Secret)');
  }
  const sessions = options.sessions ?? 8;
  if (!Number.isInteger(sessions) || sessions < 1 || sessions > 1024)
    throw problem('sessions', 'expected 1 to 1024 sessions');
  const timeout = options.operationTimeoutMs ?? 30_000;
  if (!Number.isInteger(timeout) || timeout < 100)
    throw problem('operationTimeoutMs', 'expected at least 100 ms');
  if (options.execution !== undefined && options.execution !== 'async' && options.execution !== 'worker') {
    throw problem('execution', 'expected "async" or "worker"');
  }
  const threads = options.workerThreads;
  if (threads !== undefined && (!Number.isInteger(threads) || threads < 1 || threads > 64)) {
    throw problem('workerThreads', 'expected 1 to 64 worker threads');
  }
  return profile;
}

/** Errors after which the session is rebuilt: it is gone, logged out, or left with an operation active. */
function sessionNeedsRebuild(error: unknown): boolean {
  return isSessionLost(error) || ckrName(error) === 'CKR_OPERATION_ACTIVE';
}

/** What decides whether a key is enabled; a public key alone: its private half's, if the token holds it. */
function stateCheck(key: ResolvedKey): StateCheck | undefined {
  const handle = key.kind === 'public' ? key.stateKey : key.primary;
  return handle === undefined ? undefined : { handle, attributes: stateAttributes(key.spec) };
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function callName(error: unknown): string | undefined {
  const method = (error as { method?: unknown } | undefined)?.method;
  return typeof method === 'string' && method !== '' ? method : undefined;
}

function requirePrivate(key: ResolvedKey, what: string): Handle {
  if (key.privateKey === undefined) {
    throw new KeyswitchError(
      'USAGE_MISMATCH',
      `the reference names a public key alone; ${what} needs the private key (type=private)`,
    );
  }
  return key.privateKey;
}

function requirePublic(key: ResolvedKey): Handle {
  if (key.kind === 'secret') return key.primary;
  if (key.publicKey === undefined) throw noPublicObject();
  return key.publicKey;
}

function noPublicObject(): KeyswitchError {
  return new KeyswitchError(
    'UNSUPPORTED_ALGORITHM',
    'the token holds no public-key object for this key (same CKA_ID or label), so its public key cannot be used',
  );
}

function templateRefused(error: unknown): unknown {
  const name = ckrName(error);
  if (
    name === 'CKR_TEMPLATE_INCONSISTENT' ||
    name === 'CKR_TEMPLATE_INCOMPLETE' ||
    name === 'CKR_ATTRIBUTE_VALUE_INVALID' ||
    name === 'CKR_ATTRIBUTE_TYPE_INVALID'
  ) {
    return new KeyswitchError(
      'UNSUPPORTED_ALGORITHM',
      `the token refused keyswitch's key template (${name})`,
      { cause: error },
    );
  }
  return error;
}

/** Whether a failed key generation may be the token's store racing another thread, and worth one more try. */
function isRacedGeneration(code: string | undefined, searchRacesCreation: boolean): boolean {
  return code === 'CKR_GENERAL_ERROR' || (searchRacesCreation && code === 'CKR_TEMPLATE_INCONSISTENT');
}
