import { randomBytes, timingSafeEqual } from 'node:crypto';
import {
  algorithmInfo,
  type Capabilities,
  type CipherInput,
  type CreateKeyRequest,
  ecdsaDerToP1363,
  ecdsaP1363ToDer,
  type KeyDescription,
  type KeyFacts,
  type KeyList,
  KeyProvider,
  KeyswitchError,
  keySpecInfo,
  type MacAlgorithm,
  type ParsedPublicKey,
  Secret,
  type SignInput,
} from '@keyswitch/core';
import { type ProbeResult, probeCapabilities } from './lib/capability-probe.js';
import { blobAad, blobHeader, decodeBlob, encodeBlob } from './lib/ciphertext-blob.js';
import { isBadCiphertext, isBadSignature } from './lib/ckr.js';
import { CryptoCalls } from './lib/crypto-calls.js';
import { deriveSharedSecret } from './lib/key-agreement.js';
import { enablingAttributes } from './lib/key-attributes.js';
import { assertLabelFree, generateKey, PerLabelQueue } from './lib/key-creation.js';
import { describeResolvedKey, listKeyObjects, readKey } from './lib/key-lookup.js';
import {
  PRIVATE_STATE_ATTRIBUTES,
  SECRET_STATE_ATTRIBUTES,
  setFlags,
  statefulHandle,
} from './lib/key-state.js';
import { keyGeneration } from './lib/key-templates.js';
import {
  aesGcmMechanism,
  digestInfo,
  digestOf,
  ECDSA_MECHANISM,
  GCM_IV_BYTES,
  GCM_TAG_BYTES,
  RSA_PKCS_MECHANISM,
  rsaOaepMechanism,
  rsaPssMechanism,
} from './lib/mechanisms.js';
import { readFlagsPresent } from './lib/object-search.js';
import { readPublicKey } from './lib/public-key.js';
import { requirePrivate, requirePublic } from './lib/resolved-key.js';
import { SessionPool } from './lib/session-pool.js';
import { SessionRunner } from './lib/session-runner.js';
import { acquireModule, type Handle } from './lib/shared-module.js';
import { findToken } from './lib/token.js';
import type { TokenContext } from './lib/token-context.js';
import { type WorkerCall, WorkerExecutor } from './lib/worker-executor.js';
import { type Pkcs11ProfileName, pkcs11Profile } from './profiles.js';
import { checkOptions, type Pkcs11ProviderOptions, type Pkcs11TokenInfo } from './provider-options.js';

export type { Pkcs11ProviderOptions, Pkcs11TokenInfo } from './provider-options.js';

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
  readonly #context: TokenContext;
  readonly #runner: SessionRunner;
  readonly #crypto: CryptoCalls;
  readonly #creating = new PerLabelQueue();
  #probe: Promise<ProbeResult> | undefined;

  private constructor(
    options: Pkcs11ProviderOptions,
    context: TokenContext,
    executor: WorkerExecutor | undefined,
  ) {
    super(options);
    this.#context = context;
    this.#runner = new SessionRunner(context);
    this.#crypto = new CryptoCalls(context, executor);
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
      const context: TokenContext = { module, library: module.library, token, pool, profile };
      return new Pkcs11Provider(options, context, executor);
    } catch (error) {
      executor?.close();
      await pool?.close(0);
      module.release();
      throw error;
    }
  }

  /** The token this provider uses. */
  get token(): Pkcs11TokenInfo {
    const { label, serial, manufacturer, model, slotId, slot } = this.#context.token;
    return { label, serial, manufacturer, model, slotId, slot };
  }

  /** The profile whose quirks apply. */
  get profile(): Pkcs11ProfileName {
    return this.#context.profile.name;
  }

  /** Where cryptographic calls run: `async` (libuv pool) or `worker` (worker threads). */
  get execution(): 'async' | 'worker' {
    return this.#crypto.execution;
  }

  /** The session pool's size. */
  get sessions(): number {
    return this.#context.pool.size;
  }

  // ---- manifest and key lifecycle -----------------------------------------------------------------

  protected onCapabilities(): Promise<Capabilities> {
    const { library, token, pool, profile } = this.#context;
    this.#probe ??= this.#runner
      .withSession('capability probe', (session) =>
        probeCapabilities({
          library,
          slot: token.slot,
          tokenFlags: token.flags,
          session: session.handle,
          profile,
          run: (what, call) => pool.run(session, what, call),
        }),
      )
      .catch((error: unknown) => {
        this.#probe = undefined;
        throw error;
      });
    return this.#probe.then((result) => result.capabilities);
  }

  protected async onDescribeKey(ref: string): Promise<KeyDescription> {
    const capabilities = await this.capabilities();
    return this.#runner.withKey(
      ref,
      'describeKey',
      async (_session, key) => describeResolvedKey(this.#context.token.label, key, capabilities),
      { fresh: true },
    );
  }

  protected override async onListKeys(options: { limit: number; nextToken?: string }): Promise<KeyList> {
    const capabilities = await this.capabilities();
    const offset = options.nextToken === undefined ? 0 : Number(options.nextToken);
    if (!Number.isSafeInteger(offset) || offset < 0 || String(offset) !== (options.nextToken ?? '0')) {
      throw new KeyswitchError('INVALID_INPUT', 'nextToken is not one this provider returned');
    }
    const context = this.#context;
    return this.#runner.withSession('listKeys', async (session) => {
      await this.#runner.searchable();
      const entries = listKeyObjects(context, session.handle);
      const keys: KeyDescription[] = [];
      let next = offset;
      // Objects keyswitch has no key spec for (RSA-1024, DES, certificates' keys on other curves) are skipped.
      for (; next < entries.length && keys.length < options.limit; next += 1) {
        const entry = entries[next]!;
        try {
          const key = readKey(context, session.handle, entry.kind, entry.handle);
          keys.push(describeResolvedKey(context.token.label, key, capabilities));
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
    return this.#creating.run(label, () => this.#createKey(request));
  }

  async #createKey(request: CreateKeyRequest): Promise<KeyDescription> {
    const capabilities = await this.capabilities();
    const id = randomBytes(16);
    const generation = keyGeneration(request.spec, request.usage, id, request.label);
    let generating = false;
    return this.#runner.withSession(
      'createKey',
      async (session) => {
        await this.#runner.searchable();
        if (request.label !== undefined) assertLabelFree(this.#context, session, request.label);
        generating = true;
        const key = await generateKey(this.#context, session, generation);
        const description = describeResolvedKey(this.#context.token.label, key, capabilities);
        this.#runner.remember(description.ref, key);
        return description;
      },
      // Retried only when the session was lost before the key was generated: never create a key twice.
      { retry: () => !generating },
    );
  }

  protected override async onEnableKey(key: KeyFacts): Promise<void> {
    await this.#runner.withKey(
      key.ref,
      'enableKey',
      async (session, resolved) => {
        const attributes = enablingAttributes(resolved.spec, resolved.usage);
        setFlags(this.#context.library, session.handle, statefulHandle(resolved), attributes, true);
        this.#runner.forget(key.ref);
      },
      { fresh: true },
    );
  }

  protected override async onDisableKey(key: KeyFacts): Promise<void> {
    const library = this.#context.library;
    await this.#runner.withKey(
      key.ref,
      'disableKey',
      async (session, resolved) => {
        const handle = statefulHandle(resolved);
        const attributes = resolved.kind === 'secret' ? SECRET_STATE_ATTRIBUTES : PRIVATE_STATE_ATTRIBUTES;
        const current = readFlagsPresent(library, session.handle, handle, attributes);
        const set = attributes.filter((attribute) => current.get(attribute) === true);
        setFlags(library, session.handle, handle, set, false);
        this.#runner.forget(key.ref);
      },
      { fresh: true },
    );
  }

  // ---- operations ---------------------------------------------------------------------------------

  protected override async onGetPublicKey(key: KeyFacts): Promise<Uint8Array> {
    return this.#runner.withKey(key.ref, 'getPublicKey', async (session, resolved) =>
      readPublicKey(this.#context, session, resolved),
    );
  }

  protected override async onSign(key: KeyFacts, input: SignInput): Promise<Uint8Array> {
    const info = algorithmInfo(input.algorithm);
    const hash = info.hash!;
    const digest =
      input.messageType === 'DIGEST' ? Buffer.from(input.message) : digestOf(hash, input.message);
    return this.#runner.withKey(key.ref, 'sign', async (session, resolved) => {
      const privateKey = requirePrivate(resolved, 'signing');
      const spec = keySpecInfo(resolved.spec);
      if (info.family === 'ECDSA') {
        const raw = await this.#crypto.call(session, resolved, privateKey, {
          op: 'sign',
          mechanism: ECDSA_MECHANISM,
          data: digest,
          outputLength: 2 * spec.coordinateBytes!,
        });
        return ecdsaP1363ToDer(raw);
      }
      const pss = info.family === 'RSA_PSS';
      const signature = await this.#crypto.call(session, resolved, privateKey, {
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
    return this.#runner.withKey(key.ref, 'verify', async (session, resolved) => {
      const publicKey = requirePublic(resolved);
      const spec = keySpecInfo(resolved.spec);
      let call: Extract<WorkerCall, { op: 'verify' }>;
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
        return await this.#crypto.verify(session, resolved, publicKey, call);
      } catch (error) {
        if (isBadSignature(error)) return false;
        throw error;
      }
    });
  }

  protected override async onEncrypt(key: KeyFacts, input: CipherInput): Promise<Uint8Array> {
    const data = Buffer.from(input.data);
    return this.#runner.withKey(key.ref, 'encrypt', async (session, resolved) => {
      if (input.algorithm !== 'SYMMETRIC_DEFAULT') {
        const ciphertext = await this.#crypto.call(session, resolved, requirePublic(resolved), {
          op: 'encrypt',
          mechanism: rsaOaepMechanism(algorithmInfo(input.algorithm).hash!),
          data,
          outputLength: keySpecInfo(resolved.spec).bits / 8,
        });
        return new Uint8Array(ciphertext);
      }
      const header = blobHeader(resolved.id);
      const tokenIv = this.#context.profile.gcmIv === 'token';
      let iv: Buffer = tokenIv ? Buffer.alloc(GCM_IV_BYTES) : randomBytes(GCM_IV_BYTES);
      const outputLength = data.length + GCM_TAG_BYTES + GCM_IV_BYTES;
      const mechanism = aesGcmMechanism(iv, blobAad(header, input.context));
      // The token-generated IV may come back through the IV pointer, which only the main thread's buffer sees.
      let sealed = tokenIv
        ? await this.#crypto.onMainThread(
            session,
            resolved,
            resolved.primary,
            { op: 'encrypt', mechanism, data, outputLength },
            [iv],
          )
        : await this.#crypto.call(session, resolved, resolved.primary, {
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
    return this.#runner.withKey(key.ref, 'decrypt', async (session, resolved) => {
      let call: WorkerCall & { op: 'decrypt' };
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
        return new Uint8Array(await this.#crypto.call(session, resolved, handle, call));
      } catch (error) {
        // Whatever the token answers a forged or malformed ciphertext with, it is INVALID_CIPHERTEXT.
        if (isBadCiphertext(error)) {
          throw new KeyswitchError(
            'INVALID_CIPHERTEXT',
            'the ciphertext does not decrypt under this key and context',
            {
              cause: error,
            },
          );
        }
        throw error;
      }
    });
  }

  protected override async onGenerateMac(
    key: KeyFacts,
    input: { algorithm: MacAlgorithm; message: Uint8Array },
  ): Promise<Uint8Array> {
    const message = Buffer.from(input.message);
    return this.#runner.withKey(key.ref, 'generateMac', async (session, resolved) => {
      return new Uint8Array(await this.#crypto.mac(session, resolved, input.algorithm, message));
    });
  }

  /** Computes the MAC on the token and compares in constant time (NSS answers C_Verify of HMAC oddly). */
  protected override async onVerifyMac(
    key: KeyFacts,
    input: { algorithm: MacAlgorithm; message: Uint8Array; mac: Uint8Array },
  ): Promise<boolean> {
    const message = Buffer.from(input.message);
    return this.#runner.withKey(key.ref, 'verifyMac', async (session, resolved) => {
      const expected = await this.#crypto.mac(session, resolved, input.algorithm, message);
      return expected.length === input.mac.length && timingSafeEqual(expected, input.mac);
    });
  }

  protected override async onDeriveSharedSecret(key: KeyFacts, peer: ParsedPublicKey): Promise<Uint8Array> {
    const point = peer.ec!.point;
    return this.#runner.withKey(key.ref, 'deriveSharedSecret', (session, resolved) =>
      deriveSharedSecret(this.#context, session, resolved, point),
    );
  }

  protected override async onGenerateRandom(length: number): Promise<Uint8Array> {
    return this.#runner.withSession('generateRandom', (session) => this.#crypto.random(session, length));
  }

  protected override async onClose(): Promise<void> {
    // The base class has waited for public calls in flight; the pool waits for native calls that
    // outlived their timeout. The module is finalized only when no native call is running.
    await this.#context.pool.close();
    this.#crypto.close();
    this.#runner.forgetAll();
    this.#context.module.release();
  }
}
