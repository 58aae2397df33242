/**
 * A small, correct KeyProvider on node:crypto, for the suite's own tests: if the suite fails this
 * provider, the suite is wrong. It declares a subset of the contract (RSA_2048, ECC_NIST_P256,
 * SYMMETRIC_DEFAULT and HMAC_256 keys; SHA-256 algorithms only), so the suite's "not supported" paths run
 * too. `faults` turns it into a deliberately broken provider, one realistic bug per fault.
 */
import {
  constants,
  createCipheriv,
  createDecipheriv,
  createECDH,
  createHash,
  createHmac,
  createPublicKey,
  diffieHellman,
  generateKeyPair,
  type KeyObject,
  privateDecrypt,
  privateEncrypt,
  publicDecrypt,
  publicEncrypt,
  randomBytes,
  timingSafeEqual,
} from 'node:crypto';
import { promisify } from 'node:util';
import {
  algorithmInfo,
  algorithmsFor,
  type Capabilities,
  type CipherInput,
  type CreateKeyRequest,
  ecdsaDerToP1363,
  ecdsaP1363ToDer,
  encodeEncryptionContext,
  type ImportKeyInput,
  type KeyDescription,
  type KeyFacts,
  type KeyList,
  KeyProvider,
  type KeySpec,
  type KeyState,
  KeyswitchError,
  type KeyUsage,
  keySpecInfo,
  type MacAlgorithm,
  type ParsedPublicKey,
  type SignInput,
} from '@keyswitch/core';

const generateKeyPairAsync = promisify(generateKeyPair);

/** Deliberate bugs, each one a mistake real backends make. */
export type Fault =
  /** RSA-PSS signs and verifies with an empty salt (self-consistent, but not what the contract fixes). */
  | 'pss-salt-zero'
  /** Every signature comes back with its last byte changed. */
  | 'wrong-signature-bytes'
  /** verify answers true for anything. */
  | 'verify-always-true'
  /** The ECDH "secret" is hashed (a KDF applied) instead of the raw x coordinate. */
  | 'wrong-ecdh-secret'
  /** Ciphertext that does not authenticate gives INVALID_INPUT instead of INVALID_CIPHERTEXT. */
  | 'wrong-decrypt-error-code'
  /** Disabled and pending-deletion keys keep working. */
  | 'ignores-disabled-state'
  /** AES-GCM with a fixed IV: the same plaintext always gives the same ciphertext. */
  | 'fixed-iv'
  /** Signing reads the message from shared state across an await: concurrent signs get each other's. */
  | 'shared-state-race'
  /** Symmetric ciphertext starts with a 16-byte header of which only the first byte is checked. */
  | 'unauthenticated-header';

/** Options of the minimal provider. */
export interface MinimalProviderOptions {
  readonly name?: string;
  readonly faults?: readonly Fault[];
  /** A manifest to declare instead of {@link minimalCapabilities} (to make a provider that lacks something). */
  readonly capabilities?: Capabilities;
}

interface StoredKey {
  readonly ref: string;
  readonly keyId: string;
  readonly label: string | undefined;
  readonly spec: KeySpec;
  readonly usage: KeyUsage;
  readonly createdAt: Date;
  state: KeyState;
  deletionDate?: Date;
  readonly privateKey?: KeyObject;
  readonly secret?: Buffer;
}

const P256_ORDER = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;

const DIGEST_INFO_SHA256 = Buffer.from('3031300d060960864801650304020105000420', 'hex');

export const minimalCapabilities: Capabilities = {
  keySpecs: {
    RSA_2048: { usages: ['SIGN_VERIFY', 'ENCRYPT_DECRYPT'], create: true },
    ECC_NIST_P256: { usages: ['SIGN_VERIFY', 'KEY_AGREEMENT'], create: true },
    SYMMETRIC_DEFAULT: { usages: ['ENCRYPT_DECRYPT'], create: true },
    HMAC_256: { usages: ['GENERATE_VERIFY_MAC'], create: true },
  },
  algorithms: [
    'RSASSA_PSS_SHA_256',
    'RSASSA_PKCS1_V1_5_SHA_256',
    'ECDSA_SHA_256',
    'RSAES_OAEP_SHA_256',
    'SYMMETRIC_DEFAULT',
    'HMAC_SHA_256',
    'ECDH',
  ],
  operations: {
    createKey: true,
    enableKey: true,
    disableKey: true,
    scheduleKeyDeletion: true,
    cancelKeyDeletion: true,
    listKeys: true,
    generateDataKey: true,
    generateRandom: true,
    importKey: true,
  },
  deletionWindowDays: { min: 7, max: 30 },
};

/** The minimal provider. */
export class MinimalProvider extends KeyProvider {
  readonly type = 'minimal';
  readonly #keys = new Map<string, StoredKey>();
  readonly #faults: ReadonlySet<Fault>;
  readonly #capabilities: Capabilities;
  #counter = 0;
  #pendingMessage: Uint8Array | undefined;

  constructor(options: MinimalProviderOptions = {}) {
    super(options.name === undefined ? {} : { name: options.name });
    this.#faults = new Set(options.faults ?? []);
    this.#capabilities = options.capabilities ?? minimalCapabilities;
  }

  /** Stores imported key material (for the suite's `importKey` option). */
  protected override async onImportKey(request: ImportKeyInput): Promise<KeyDescription> {
    const material =
      request.key.type === 'secret' ? { secret: request.key.export() } : { privateKey: request.key };
    return this.#store(request.spec, request.usage, request.label, material);
  }

  protected onCapabilities(): Capabilities {
    return this.#capabilities;
  }

  protected async onDescribeKey(ref: string): Promise<KeyDescription> {
    return this.#describe(this.#find(ref));
  }

  protected override async onListKeys(options: { limit: number; nextToken?: string }): Promise<KeyList> {
    const all = [...this.#keys.values()];
    const start = options.nextToken === undefined ? 0 : Number(options.nextToken);
    const page = all.slice(start, start + options.limit).map((key) => this.#describe(key));
    const next = start + options.limit;
    return next < all.length ? { keys: page, nextToken: String(next) } : { keys: page };
  }

  protected override async onCreateKey(request: CreateKeyRequest): Promise<KeyDescription> {
    const info = keySpecInfo(request.spec);
    if (info.family === 'RSA') {
      const { privateKey } = await generateKeyPairAsync('rsa', { modulusLength: info.bits });
      return this.#store(request.spec, request.usage, request.label, { privateKey });
    }
    if (info.family === 'EC') {
      const { privateKey } = await generateKeyPairAsync('ec', { namedCurve: info.namedCurve! });
      return this.#store(request.spec, request.usage, request.label, { privateKey });
    }
    return this.#store(request.spec, request.usage, request.label, { secret: randomBytes(info.bits / 8) });
  }

  protected override async onEnableKey(key: KeyFacts): Promise<void> {
    const stored = this.#find(key.ref);
    if (stored.state === 'PENDING_DELETION')
      throw new KeyswitchError('KEY_DISABLED', 'the key is pending deletion');
    stored.state = 'ENABLED';
  }

  protected override async onDisableKey(key: KeyFacts): Promise<void> {
    const stored = this.#find(key.ref);
    if (stored.state === 'PENDING_DELETION')
      throw new KeyswitchError('KEY_DISABLED', 'the key is pending deletion');
    stored.state = 'DISABLED';
  }

  protected override async onScheduleKeyDeletion(key: KeyFacts, days: number): Promise<Date> {
    const stored = this.#find(key.ref);
    if (stored.state === 'PENDING_DELETION')
      throw new KeyswitchError('KEY_DISABLED', 'the key is already pending deletion');
    stored.state = 'PENDING_DELETION';
    stored.deletionDate = new Date(Date.now() + days * 86_400_000);
    return stored.deletionDate;
  }

  protected override async onCancelKeyDeletion(key: KeyFacts): Promise<void> {
    const stored = this.#find(key.ref);
    if (stored.state !== 'PENDING_DELETION')
      throw new KeyswitchError('INVALID_INPUT', 'the key is not pending deletion');
    stored.state = 'DISABLED';
    delete stored.deletionDate;
  }

  protected override async onGetPublicKey(key: KeyFacts): Promise<Uint8Array> {
    return new Uint8Array(
      createPublicKey(this.#find(key.ref).privateKey!).export({ format: 'der', type: 'spki' }),
    );
  }

  protected override async onSign(key: KeyFacts, input: SignInput): Promise<Uint8Array> {
    const stored = this.#usable(key.ref);
    let message = input.message;
    if (this.#faults.has('shared-state-race')) {
      this.#pendingMessage = input.message;
      await new Promise((resolve) => setImmediate(resolve));
      message = this.#pendingMessage;
    }
    const digest = input.messageType === 'DIGEST' ? message : sha256(message);
    const family = algorithmInfo(input.algorithm).family;
    let signature: Uint8Array;
    if (family === 'ECDSA') signature = ecdsaSignDigest(stored.privateKey!, digest);
    else if (family === 'RSA_PKCS1')
      signature = privateEncrypt(stored.privateKey!, Buffer.concat([DIGEST_INFO_SHA256, digest]));
    else
      signature = privateEncrypt(
        { key: stored.privateKey!, padding: constants.RSA_NO_PADDING },
        pssEncode(digest, this.#saltLength()),
      );
    signature = new Uint8Array(signature);
    if (this.#faults.has('wrong-signature-bytes')) signature[signature.length - 1]! ^= 0x01;
    return signature;
  }

  protected override async onVerify(
    key: KeyFacts,
    input: SignInput & { readonly signature: Uint8Array },
  ): Promise<boolean> {
    const stored = this.#usable(key.ref);
    if (this.#faults.has('verify-always-true')) return true;
    const digest = input.messageType === 'DIGEST' ? input.message : sha256(input.message);
    const family = algorithmInfo(input.algorithm).family;
    try {
      if (family === 'ECDSA') return ecdsaVerifyDigest(stored.privateKey!, digest, input.signature);
      const publicKey = createPublicKey(stored.privateKey!);
      if (input.signature.byteLength !== 256) return false;
      if (family === 'RSA_PKCS1') {
        return Buffer.from(publicDecrypt(publicKey, input.signature)).equals(
          Buffer.concat([DIGEST_INFO_SHA256, digest]),
        );
      }
      const encoded = publicDecrypt({ key: publicKey, padding: constants.RSA_NO_PADDING }, input.signature);
      return pssVerify(digest, encoded, this.#saltLength());
    } catch {
      return false;
    }
  }

  protected override async onEncrypt(key: KeyFacts, input: CipherInput): Promise<Uint8Array> {
    const stored = this.#usable(key.ref);
    if (input.algorithm !== 'SYMMETRIC_DEFAULT') {
      return new Uint8Array(
        publicEncrypt({ key: createPublicKey(stored.privateKey!), oaepHash: 'sha256' }, input.data),
      );
    }
    const iv = this.#faults.has('fixed-iv') ? Buffer.alloc(12) : randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', stored.secret!, iv);
    cipher.setAAD(encodeEncryptionContext(input.context));
    const sealed = Buffer.concat([iv, cipher.update(input.data), cipher.final(), cipher.getAuthTag()]);
    if (!this.#faults.has('unauthenticated-header')) return new Uint8Array(sealed);
    return new Uint8Array(Buffer.concat([Buffer.from([1]), randomBytes(15), sealed]));
  }

  protected override async onDecrypt(key: KeyFacts, input: CipherInput): Promise<Uint8Array> {
    const stored = this.#usable(key.ref);
    try {
      if (input.algorithm !== 'SYMMETRIC_DEFAULT') {
        return new Uint8Array(privateDecrypt({ key: stored.privateKey!, oaepHash: 'sha256' }, input.data));
      }
      let data = Buffer.from(input.data);
      if (this.#faults.has('unauthenticated-header')) {
        // The version byte is checked; the other 15 header bytes are read by nobody.
        if (data[0] !== 1) throw new Error('unknown version');
        data = data.subarray(16);
      }
      if (data.length < 28) throw new Error('too short');
      const decipher = createDecipheriv('aes-256-gcm', stored.secret!, data.subarray(0, 12));
      decipher.setAAD(encodeEncryptionContext(input.context));
      decipher.setAuthTag(data.subarray(-16));
      return new Uint8Array(Buffer.concat([decipher.update(data.subarray(12, -16)), decipher.final()]));
    } catch (error) {
      const code = this.#faults.has('wrong-decrypt-error-code') ? 'INVALID_INPUT' : 'INVALID_CIPHERTEXT';
      throw new KeyswitchError(code, 'the ciphertext does not decrypt with this key and context', {
        cause: error,
      });
    }
  }

  protected override async onGenerateMac(
    key: KeyFacts,
    input: { algorithm: MacAlgorithm; message: Uint8Array },
  ): Promise<Uint8Array> {
    return new Uint8Array(createHmac('sha256', this.#usable(key.ref).secret!).update(input.message).digest());
  }

  protected override async onVerifyMac(
    key: KeyFacts,
    input: { algorithm: MacAlgorithm; message: Uint8Array; mac: Uint8Array },
  ): Promise<boolean> {
    const expected = createHmac('sha256', this.#usable(key.ref).secret!).update(input.message).digest();
    return input.mac.byteLength === expected.length && timingSafeEqual(expected, input.mac);
  }

  protected override async onDeriveSharedSecret(key: KeyFacts, peer: ParsedPublicKey): Promise<Uint8Array> {
    const publicKey = createPublicKey({ key: Buffer.from(peer.spki), format: 'der', type: 'spki' });
    const secret = diffieHellman({ privateKey: this.#usable(key.ref).privateKey!, publicKey });
    return new Uint8Array(this.#faults.has('wrong-ecdh-secret') ? sha256(secret) : secret);
  }

  protected override async onGenerateRandom(length: number): Promise<Uint8Array> {
    return new Uint8Array(randomBytes(length));
  }

  #saltLength(): number {
    return this.#faults.has('pss-salt-zero') ? 0 : 32;
  }

  #store(
    spec: KeySpec,
    usage: KeyUsage,
    label: string | undefined,
    material: { privateKey?: KeyObject; secret?: Buffer },
  ): KeyDescription {
    this.#counter += 1;
    const ref = label ?? `minimal-key-${this.#counter}`;
    if (this.#keys.has(ref)) throw new KeyswitchError('KEY_EXISTS', `a key named ${ref} exists`);
    const stored: StoredKey = {
      ref,
      keyId: randomBytes(8).toString('hex'),
      label,
      spec,
      usage,
      createdAt: new Date(),
      state: 'ENABLED',
      ...material,
    };
    this.#keys.set(ref, stored);
    return this.#describe(stored);
  }

  #describe(key: StoredKey): KeyDescription {
    return {
      ref: key.ref,
      keyId: key.keyId,
      aliases: key.label === undefined ? [] : [key.label],
      spec: key.spec,
      usage: key.usage,
      algorithms: algorithmsFor(key.spec, key.usage).filter((algorithm) =>
        this.#capabilities.algorithms.includes(algorithm),
      ),
      state: key.state,
      createdAt: key.createdAt,
      ...(key.deletionDate === undefined ? {} : { deletionDate: key.deletionDate }),
    };
  }

  #find(ref: string): StoredKey {
    const key = this.#keys.get(ref);
    if (!key) throw new KeyswitchError('KEY_NOT_FOUND', `no key ${ref}`);
    return key;
  }

  #usable(ref: string): StoredKey {
    const key = this.#find(ref);
    if (key.state !== 'ENABLED' && !this.#faults.has('ignores-disabled-state')) {
      throw new KeyswitchError('KEY_DISABLED', `the key is ${key.state}`);
    }
    return key;
  }
}

function sha256(data: Uint8Array): Buffer {
  return createHash('sha256').update(data).digest();
}

// ---- RSA-PSS over a digest (RFC 8017 §9.1), SHA-256 and MGF1-SHA-256, 2048-bit keys ------------------

const EM_BYTES = 256;

function mgf1(seed: Uint8Array, length: number): Buffer {
  const blocks: Buffer[] = [];
  for (let counter = 0; blocks.length * 32 < length; counter++) {
    const c = Buffer.alloc(4);
    c.writeUInt32BE(counter);
    blocks.push(sha256(Buffer.concat([seed, c])));
  }
  return Buffer.concat(blocks).subarray(0, length);
}

function pssEncode(digest: Uint8Array, saltLength: number): Buffer {
  const salt = randomBytes(saltLength);
  const h = sha256(Buffer.concat([Buffer.alloc(8), digest, salt]));
  const db = Buffer.concat([Buffer.alloc(EM_BYTES - saltLength - 32 - 2), Buffer.from([1]), salt]);
  const masked = Buffer.from(mgf1(h, db.length).map((byte, index) => byte ^ db[index]!));
  masked[0]! &= 0x7f;
  return Buffer.concat([masked, h, Buffer.from([0xbc])]);
}

function pssVerify(digest: Uint8Array, encoded: Buffer, saltLength: number): boolean {
  if (encoded.length !== EM_BYTES || encoded[EM_BYTES - 1] !== 0xbc || (encoded[0]! & 0x80) !== 0)
    return false;
  const masked = encoded.subarray(0, EM_BYTES - 33);
  const h = encoded.subarray(EM_BYTES - 33, EM_BYTES - 1);
  const db = Buffer.from(mgf1(h, masked.length).map((byte, index) => byte ^ masked[index]!));
  db[0]! &= 0x7f;
  const separator = db.length - saltLength - 1;
  if (!db.subarray(0, separator).every((byte) => byte === 0) || db[separator] !== 1) return false;
  const salt = db.subarray(separator + 1);
  return sha256(Buffer.concat([Buffer.alloc(8), digest, salt])).equals(h);
}

// ---- ECDSA P-256 over a digest: k·G by node:crypto's ECDH, the scalar arithmetic with bigints ------------

function toBigInt(bytes: Uint8Array): bigint {
  return BigInt(`0x${Buffer.from(bytes).toString('hex') || '0'}`);
}

function modPow(base: bigint, exponent: bigint, modulus: bigint): bigint {
  let result = 1n;
  let b = base % modulus;
  for (let e = exponent; e > 0n; e >>= 1n) {
    if (e & 1n) result = (result * b) % modulus;
    b = (b * b) % modulus;
  }
  return result;
}

const inverse = (value: bigint) => modPow(value, P256_ORDER - 2n, P256_ORDER);
const mod = (value: bigint) => ((value % P256_ORDER) + P256_ORDER) % P256_ORDER;

/** The x coordinate of scalar·G, mod n. */
function baseMultipleX(scalar: bigint): bigint {
  const ecdh = createECDH('prime256v1');
  ecdh.setPrivateKey(Buffer.from(scalar.toString(16).padStart(64, '0'), 'hex'));
  return mod(toBigInt(ecdh.getPublicKey().subarray(1, 33)));
}

function privateScalar(key: KeyObject): bigint {
  return toBigInt(Buffer.from(key.export({ format: 'jwk' }).d!, 'base64url'));
}

function ecdsaSignDigest(key: KeyObject, digest: Uint8Array): Uint8Array {
  const d = privateScalar(key);
  const e = toBigInt(digest);
  for (;;) {
    const k = mod(toBigInt(randomBytes(40)));
    if (k === 0n) continue;
    const r = baseMultipleX(k);
    const s = mod(inverse(k) * (e + r * d));
    if (r === 0n || s === 0n) continue;
    const bytes = (value: bigint) => Buffer.from(value.toString(16).padStart(64, '0'), 'hex');
    return ecdsaP1363ToDer(Buffer.concat([bytes(r), bytes(s)]));
  }
}

/** Verifies with the private key: u1·G + u2·Q = (u1 + u2·d)·G, one base-point multiplication. */
function ecdsaVerifyDigest(key: KeyObject, digest: Uint8Array, signature: Uint8Array): boolean {
  const p1363 = ecdsaDerToP1363(signature, 32);
  const r = toBigInt(p1363.subarray(0, 32));
  const s = toBigInt(p1363.subarray(32));
  if (r <= 0n || r >= P256_ORDER || s <= 0n || s >= P256_ORDER) return false;
  const w = inverse(s);
  const scalar = mod(toBigInt(digest) * w + r * w * privateScalar(key));
  return scalar !== 0n && baseMultipleX(scalar) === r;
}

/** The suite's `importKey` option for a MinimalProvider. */
export function importIntoMinimal(
  provider: KeyProvider,
  request: { spec: KeySpec; usage: KeyUsage; key: KeyObject; label: string },
): Promise<KeyDescription> {
  return provider.importKey(
    request.key.type === 'secret'
      ? { label: request.label, usage: request.usage, spec: request.spec, raw: request.key.export() }
      : {
          label: request.label,
          usage: request.usage,
          spec: request.spec,
          pkcs8: request.key.export({ format: 'der', type: 'pkcs8' }),
        },
  );
}
