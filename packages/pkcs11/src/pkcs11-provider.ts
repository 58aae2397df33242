import { randomBytes } from 'node:crypto';
import {
  algorithmInfo,
  type Capabilities,
  type CipherInput,
  type CreateKeyRequest,
  constantTimeEqual,
  type ImportKeyInput,
  type KeyDescription,
  type KeyFacts,
  type KeyList,
  KeyProvider,
  KeyswitchError,
  keySpecInfo,
  type MacAlgorithm,
  type ParsedPublicKey,
  type PoolStats,
  Secret,
  type SignInput,
  type SigningTraits,
} from '@keyswitch/core';
import { creationRefused, type ProbeResult } from './lib/capability-probe.js';
import { blobAad, blobHeader, decodeBlob, encodeBlob } from './lib/ciphertext-blob.js';
import { isBadCiphertext, isBadSignature } from './lib/ckr.js';
import { CryptoCalls } from './lib/crypto-calls.js';
import { adoptOrReport, outcomeUnknown, PerLabelQueue } from './lib/key-creation.js';
import { type ImportParts, importOnToken } from './lib/key-import.js';
import { describeResolvedKey } from './lib/key-lookup.js';
import { keyGeneration } from './lib/key-templates.js';
import { failedInLabelCheck } from './lib/label-check.js';
import { aesGcmMechanism, GCM_IV_BYTES, GCM_TAG_BYTES, rsaOaepMechanism } from './lib/mechanisms.js';
import { probeOnce, releaseProbe } from './lib/probe-sharing.js';
import { type ResolvedKey, requirePrivate, requirePublic } from './lib/resolved-key.js';
import { SessionPool } from './lib/session-pool.js';
import { type ProviderParts, SessionRunner } from './lib/session-runner.js';
import { acquireModule, type Handle, resolveModulePath, type SharedModule } from './lib/shared-module.js';
import { signCall, signingDigest, verifyCall } from './lib/signature-calls.js';
import { WorkerPool } from './lib/worker-pool.js';
import type { CryptoCall } from './lib/worker-protocol.js';
import { type Pkcs11ProfileName, pkcs11Profile } from './profiles.js';
import { checkOptions, type Pkcs11ProviderOptions, type Pkcs11TokenInfo } from './provider-options.js';

export type { Pkcs11ProviderOptions, Pkcs11TokenInfo } from './provider-options.js';

/**
 * CKM_ECDSA answers r || s and C_Verify takes it: signatures cross the provider in that form, so the core
 * converts one only when the caller asks for DER. Messages of any length are hashed here.
 */
const PKCS11_SIGNING: SigningTraits = Object.freeze({
  ecdsaSignatureFormat: 'P1363',
  rawMessageBytes: Object.freeze({ min: 0, max: Number.POSITIVE_INFINITY }),
});

/** What every token shares: the signing traits, and keys whose state is read before each use (no TTL). */
const PKCS11_FIXED = Object.freeze({
  signing: PKCS11_SIGNING,
  sharedKeys: Object.freeze({ keyStateTtlMs: 0 }),
});

/**
 * A keyswitch provider on a PKCS#11 token: AWS CloudHSM, an on-premises HSM, SoftHSM2 or NSS softokn.
 * Keys are addressed by RFC 7512 `pkcs11:` URIs. Every PKCS#11 call runs on worker threads, on a pool of
 * sessions; a session the token lost is rebuilt (with its login) and the operation retried once.
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
  readonly #parts: ProviderParts;
  readonly #workers: WorkerPool;
  readonly #runner: SessionRunner;
  readonly #crypto: CryptoCalls;
  readonly #creating = new PerLabelQueue();
  #probe: Promise<ProbeResult> | undefined;

  private constructor(options: Pkcs11ProviderOptions, parts: ProviderParts, workers: WorkerPool) {
    super(options);
    this.#parts = parts;
    this.#workers = workers;
    this.#runner = new SessionRunner(parts);
    this.#crypto = new CryptoCalls(parts.pool, parts.profile, () => parts.token.label);
  }

  /**
   * Starts the worker threads, initializes the module there (once per process), finds the token, and
   * opens and logs in a first session, so a wrong PIN or a missing token is reported here rather than on
   * the first operation. No PKCS#11 function runs on the calling thread.
   *
   * @throws CONFIG_INVALID for bad options, a module that does not load, or pkcs11js not built;
   * UNAVAILABLE (retryable) when the token cannot be reached; ACCESS_DENIED when the PIN is refused
   */
  static async open(options: Pkcs11ProviderOptions): Promise<Pkcs11Provider> {
    const checked = checkOptions(options);
    const profile = pkcs11Profile(checked.profile);
    const pin = checked.pin instanceof Secret ? checked.pin : new Secret(checked.pin);
    const pinProblem = profile.pinProblem?.(pin.reveal());
    if (pinProblem !== undefined) throw new KeyswitchError('CONFIG_INVALID', pinProblem, { path: 'pin' });
    const modulePath = resolveModulePath(checked.module, checked.baseDir);
    const timeoutMs = checked.operationTimeoutMs;
    const workers = new WorkerPool({
      module: modulePath,
      parameters: checked.libraryParameters,
      threads: checked.workerThreads,
      timeoutMs,
    });
    let module: SharedModule | undefined;
    let pool: SessionPool | undefined;
    try {
      module = await acquireModule(modulePath, { libraryParameters: checked.libraryParameters }, workers);
      const token = await workers.run({ kind: 'findToken', selector: checked.token }, 'C_GetSlotList');
      pool = new SessionPool({
        module,
        workers,
        slot: token.slot,
        pin,
        size: checked.sessions,
        timeoutMs,
      });
      pool.release(await pool.acquire());
      return new Pkcs11Provider(
        options,
        { module, pool, workers, token, selector: checked.token, profile },
        workers,
      );
    } catch (error) {
      await pool?.close(0);
      await module?.release(workers);
      workers.close();
      throw error;
    }
  }

  /** The token this provider uses. */
  get token(): Pkcs11TokenInfo {
    const { label, serial, manufacturer, model, slotId, slot } = this.#parts.token;
    return { label, serial, manufacturer, model, slotId, slot };
  }

  /** The profile whose quirks apply. */
  get profile(): Pkcs11ProfileName {
    return this.#parts.profile.name;
  }

  /**
   * Where PKCS#11 calls run: always `worker` (worker threads). The `execution` option is accepted for
   * compatibility and ignored.
   *
   * @deprecated every call runs on worker threads
   */
  get execution(): 'worker' {
    return 'worker';
  }

  /** The worker threads' ids (for diagnostics: no PKCS#11 call runs on any other thread). */
  get workerThreadIds(): readonly number[] {
    return this.#workers.threadIds;
  }

  /** The session pool's size. */
  get sessions(): number {
    return this.#parts.pool.size;
  }

  /** The session pool and worker threads now, for keyswitch's pool gauges. */
  override poolStats(): PoolStats {
    return { sessions: this.#parts.pool.usage, workers: { threads: this.#workers.threadCount } };
  }

  // ---- manifest and key lifecycle -----------------------------------------------------------------

  protected onCapabilities(): Promise<Capabilities> {
    const { module, token, profile } = this.#parts;
    const tokenKey = `${module.path}#${token.slotId}#${token.serial}#${token.label}#${profile.name}`;
    this.#probe ??= probeOnce(tokenKey, this, () =>
      this.#runner.withSession('capability probe', (session) =>
        this.#runner.onToken(session, 'capability probe', { kind: 'probe' }),
      ),
    ).catch((error: unknown) => {
      this.#probe = undefined;
      throw error;
    });
    return this.#probe.then((result) => ({ ...result.capabilities, ...PKCS11_FIXED }));
  }

  /** A label no object has: random, and in the `keyswitch-nonexistent-` namespace. */
  protected override onNonexistentKeyRef(): string {
    return `pkcs11:object=keyswitch-nonexistent-${randomBytes(12).toString('hex')};type=private`;
  }

  protected async onDescribeKey(ref: string): Promise<KeyDescription> {
    const capabilities = await this.capabilities();
    return this.#runner.withKey(
      ref,
      'describeKey',
      async (_session, key) => describeResolvedKey(this.#parts.token.label, key, capabilities),
      { fresh: true },
    );
  }

  protected override async onListKeys(options: { limit: number; nextToken?: string }): Promise<KeyList> {
    const capabilities = await this.capabilities();
    const offset = options.nextToken === undefined ? 0 : Number(options.nextToken);
    if (!Number.isSafeInteger(offset) || offset < 0 || String(offset) !== (options.nextToken ?? '0')) {
      throw new KeyswitchError('INVALID_INPUT', 'nextToken is not one this provider returned');
    }
    return this.#runner.withSession('listKeys', async (session) => {
      const listed = await this.#runner.searching(() =>
        this.#runner.onToken(session, 'C_FindObjects', { kind: 'list', offset, limit: options.limit }),
      );
      const keys = listed.keys.map((key) => describeResolvedKey(this.#parts.token.label, key, capabilities));
      return listed.next < listed.total ? { keys, nextToken: String(listed.next) } : { keys };
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
    const [capabilities, probed] = [await this.capabilities(), await this.#probe!];
    const { templates } = probed.creation;
    const id = randomBytes(16);
    const generation = keyGeneration(request.spec, request.usage, id, request.label, templates);
    let generating = false;
    try {
      return await this.#runner.withSession(
        'createKey',
        async (session) => {
          generating = true;
          const key = await this.#runner.creating(session, () =>
            this.#runner.onToken(session, 'C_GenerateKeyPair', {
              kind: 'createKey',
              keyGeneration: generation,
              label: request.label,
            }),
          );
          const description = describeResolvedKey(this.#parts.token.label, key, capabilities);
          this.#runner.remember(session, description.ref, key);
          return description;
        },
        // Never retried once the generation may have run: never create a key twice. A failure in the
        // label check, which comes first in the task, created nothing (a session lost under it).
        { retry: (error) => !generating || failedInLabelCheck(error) },
      );
    } catch (error) {
      if (!generating || !outcomeUnknown(error)) throw creationRefused(probed, request, error, this.#parts);
      return adoptOrReport(this.#parts.token.label, id, error, (ref) => this.describeKey(ref));
    }
  }

  protected override async onImportKey(input: ImportKeyInput): Promise<KeyDescription> {
    const capabilities = await this.capabilities();
    const parts: ImportParts = {
      runner: this.#runner,
      imports: (await this.#probe!).imports,
      describe: (key) => describeResolvedKey(this.#parts.token.label, key, capabilities),
    };
    // One write at a time per label, as for creation: the label check and the write never interleave.
    const label = input.label;
    return label === undefined
      ? importOnToken(parts, input)
      : this.#creating.run(label, () => importOnToken(parts, input));
  }

  protected override async onEnableKey(key: KeyFacts): Promise<void> {
    await this.#setState(key.ref, 'enableKey', true);
  }

  protected override async onDisableKey(key: KeyFacts): Promise<void> {
    await this.#setState(key.ref, 'disableKey', false);
  }

  #setState(ref: string, what: string, enable: boolean): Promise<void> {
    return this.#runner.withKey(
      ref,
      what,
      async (session, resolved) => {
        await this.#runner.onToken(session, 'C_SetAttributeValue', {
          kind: 'setState',
          key: resolved,
          enable,
        });
        this.#runner.forget(ref);
      },
      { fresh: true },
    );
  }

  // ---- operations ---------------------------------------------------------------------------------

  protected override async onGetPublicKey(key: KeyFacts): Promise<Uint8Array> {
    return this.#runner.withKey(
      key.ref,
      'getPublicKey',
      (session, resolved) =>
        this.#runner.onToken(session, 'C_GetAttributeValue', { kind: 'publicKey', key: resolved }),
      // An EC key's public point is only on its public object (an RSA key's modulus is on both halves).
      { lacks: (resolved) => lacksPublicHalf(resolved) && !resolved.spec.startsWith('RSA_') },
    );
  }

  protected override async onSign(key: KeyFacts, input: SignInput): Promise<Uint8Array> {
    const digest = signingDigest(input);
    return this.#runner.withKey(key.ref, 'sign', async (session, resolved) => {
      const privateKey = requirePrivate(resolved, 'signing');
      const call = signCall(input.algorithm, resolved.spec, digest);
      return new Uint8Array(await this.#crypto.call(session, resolved, privateKey, call));
    });
  }

  protected override async onVerify(
    key: KeyFacts,
    input: SignInput & { readonly signature: Uint8Array },
  ): Promise<boolean> {
    const rsa = algorithmInfo(input.algorithm).family !== 'ECDSA';
    const digest = signingDigest(input);
    return this.#runner.withKey(
      key.ref,
      'verify',
      async (session, resolved) => {
        const publicKey = requirePublic(resolved);
        if (rsa && input.signature.length !== keySpecInfo(resolved.spec).bits / 8) return false;
        try {
          return await this.#crypto.verify(
            session,
            resolved,
            publicKey,
            verifyCall(input.algorithm, digest, input.signature),
          );
        } catch (error) {
          if (isBadSignature(error)) return false;
          throw error;
        }
      },
      { lacks: lacksPublicHalf },
    );
  }

  protected override async onEncrypt(key: KeyFacts, input: CipherInput): Promise<Uint8Array> {
    const data = Buffer.from(input.data);
    const lacks = input.algorithm === 'SYMMETRIC_DEFAULT' ? undefined : lacksPublicHalf;
    return this.#runner.withKey(
      key.ref,
      'encrypt',
      async (session, resolved) => {
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
        const tokenIv = this.#parts.profile.gcmIv === 'token';
        let iv: Buffer = tokenIv ? Buffer.alloc(GCM_IV_BYTES) : randomBytes(GCM_IV_BYTES);
        const outputLength = data.length + GCM_TAG_BYTES + GCM_IV_BYTES;
        const mechanism = aesGcmMechanism(iv, blobAad(header, input.context));
        // A token that generates the IV may write it back through the mechanism's IV pointer: the worker
        // answers the IV buffer as it is after the call.
        const sealedCall = { op: 'encrypt', mechanism, data, outputLength } as const;
        let sealed: Buffer;
        if (tokenIv) {
          const answer = await this.#crypto.callWithIv(session, resolved, resolved.primary, sealedCall);
          sealed = answer.output;
          if (sealed.length === data.length + GCM_TAG_BYTES + GCM_IV_BYTES) {
            iv = sealed.subarray(sealed.length - GCM_IV_BYTES); // the HSM's IV, appended
            sealed = sealed.subarray(0, sealed.length - GCM_IV_BYTES);
          } else {
            if (answer.iv !== undefined) iv = answer.iv;
            if (iv.every((byte) => byte === 0)) {
              throw new KeyswitchError(
                'INTERNAL',
                'the token was expected to generate the AES-GCM IV but returned none',
              );
            }
          }
        } else {
          sealed = await this.#crypto.call(session, resolved, resolved.primary, sealedCall);
        }
        return encodeBlob(header, iv, sealed);
      },
      lacks === undefined ? {} : { lacks },
    );
  }

  protected override async onDecrypt(key: KeyFacts, input: CipherInput): Promise<Uint8Array> {
    return this.#runner.withKey(key.ref, 'decrypt', async (session, resolved) => {
      let call: CryptoCall;
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
          const detail = 'the ciphertext does not decrypt under this key and context';
          throw new KeyswitchError('INVALID_CIPHERTEXT', detail, { cause: error });
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
      return constantTimeEqual(expected, input.mac);
    });
  }

  protected override async onDeriveSharedSecret(key: KeyFacts, peer: ParsedPublicKey): Promise<Uint8Array> {
    const point = peer.ec!.point;
    return this.#runner.withKey(key.ref, 'deriveSharedSecret', (session, resolved) =>
      this.#runner.onToken(session, 'C_DeriveKey', { kind: 'derive', key: resolved, point }),
    );
  }

  protected override async onGenerateRandom(length: number): Promise<Uint8Array> {
    return this.#runner.withSession('generateRandom', (session) => this.#crypto.random(session, length));
  }

  protected override async onClose(): Promise<void> {
    releaseProbe(this);
    // The base class has waited for public calls in flight; the pool waits for calls that outlived their
    // timeout. The module is finalized only when no native call is left running.
    await this.#parts.pool.close();
    this.#runner.forgetAll();
    await this.#parts.module.release(this.#workers);
    this.#workers.close();
  }
}

/**
 * A key pair looked up without its public half: another process may have written that half since (a
 * key imported while the application runs), so an operation that needs it looks the key up again.
 */
function lacksPublicHalf(key: ResolvedKey): boolean {
  return key.kind === 'pair' && key.publicKey === undefined;
}
