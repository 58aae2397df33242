import { randomBytes } from 'node:crypto';
import {
  type Algorithm,
  type Capabilities,
  type CurveName,
  isKeyswitchError,
  type KeySpec,
  type KeyUsage,
  keySpecInfo,
} from '@keyswitch/core';
import type { KeyPair, MechanismInfo, Template } from 'pkcs11js';
import type { Pkcs11Profile } from '../profiles.js';
import { CKA, CKF, CKK, CKM, CKO } from './ck.js';
import { ckrName } from './ckr.js';
import { EC_PARAMS } from './key-attributes.js';
import { sharedSecretTemplate } from './key-templates.js';
import { aesGcmMechanism, ecdhMechanism, GCM_TAG_BYTES, rsaOaepMechanism } from './mechanisms.js';
import type { Handle, Pkcs11Library } from './shared-module.js';

/** What the probe needs: the library, the token's slot and flags, a session of its own, and a runner for async calls. */
export interface ProbeContext {
  readonly library: Pkcs11Library;
  readonly slot: Handle;
  readonly tokenFlags: number;
  readonly session: Handle;
  readonly profile: Pkcs11Profile;
  /** Runs an asynchronous native call with the pool's timeout. */
  readonly run: <T>(what: string, call: Promise<T>) => Promise<T>;
}

/** The probe's findings: the manifest, and what else the provider needs to know. */
export interface ProbeResult {
  readonly capabilities: Capabilities;
  readonly mechanisms: ReadonlySet<number>;
}

/**
 * Return values that mean "the token refuses this mechanism, parameter set or key template": the probe
 * records them as not supported. Anything else (CKR_FUNCTION_FAILED, device errors, lost sessions,
 * timeouts) says nothing about support: it propagates, and the probe runs again on the next call.
 */
const REFUSED: ReadonlySet<string> = new Set([
  'CKR_MECHANISM_INVALID',
  'CKR_MECHANISM_PARAM_INVALID',
  'CKR_ARGUMENTS_BAD',
  'CKR_KEY_SIZE_RANGE',
  'CKR_KEY_TYPE_INCONSISTENT',
  'CKR_KEY_FUNCTION_NOT_PERMITTED',
  'CKR_FUNCTION_NOT_SUPPORTED',
  'CKR_CURVE_NOT_SUPPORTED',
  'CKR_DOMAIN_PARAMS_INVALID',
  'CKR_TEMPLATE_INCONSISTENT',
  'CKR_TEMPLATE_INCOMPLETE',
  'CKR_ATTRIBUTE_VALUE_INVALID',
  'CKR_ATTRIBUTE_TYPE_INVALID',
  'CKR_ATTRIBUTE_SENSITIVE',
]);

/** The CKR_* name of a refusal, or rethrows an error that is not one (see {@link REFUSED}). */
function refusal(error: unknown): string {
  const name = ckrName(error);
  if (name !== undefined && REFUSED.has(name) && !isKeyswitchError(error)) return name;
  throw error;
}

const RSA_SPECS: readonly KeySpec[] = ['RSA_2048', 'RSA_3072', 'RSA_4096'];
const HMAC_SPECS: ReadonlyArray<{ spec: KeySpec; mechanism: number; algorithm: Algorithm }> = [
  { spec: 'HMAC_256', mechanism: CKM.SHA256_HMAC, algorithm: 'HMAC_SHA_256' },
  { spec: 'HMAC_384', mechanism: CKM.SHA384_HMAC, algorithm: 'HMAC_SHA_384' },
  { spec: 'HMAC_512', mechanism: CKM.SHA512_HMAC, algorithm: 'HMAC_SHA_512' },
];

/**
 * Builds the capability manifest from the token's mechanism list, then checks, once, the parameter sets a
 * mechanism list cannot promise, with throwaway session keys: RSA-OAEP with SHA-1 and with SHA-256 (SoftHSM2
 * has no SHA-256 OAEP), AES-GCM with the v2.40 parameters, and ECDH with the null KDF giving a readable
 * shared secret. What fails is left out of the manifest (so it fails with UNSUPPORTED_ALGORITHM) and noted.
 */
export async function probeCapabilities(probeContext: ProbeContext): Promise<ProbeResult> {
  const { library, slot, profile } = probeContext;
  // A native call that timed out still holds the session: after that, nothing more may run on it (not
  // even the clean-up; session objects go with the session when the pool rebuilds it).
  let abandoned = false;
  const context: ProbeContext = {
    ...probeContext,
    run: (what, call) =>
      probeContext.run(what, call).catch((error: unknown) => {
        if (ckrName(error) === undefined) abandoned = true;
        throw error;
      }),
  };
  const mechanisms = new Set(library.C_GetMechanismList(slot));
  const info = (mechanism: number): MechanismInfo | undefined => {
    if (!mechanisms.has(mechanism)) return undefined;
    try {
      return library.C_GetMechanismInfo(slot, mechanism);
    } catch (error) {
      refusal(error);
      return undefined;
    }
  };
  const notes: string[] = [...profile.notes];
  const algorithms: Algorithm[] = [];
  const keySpecs: Partial<Record<KeySpec, { usages: KeyUsage[]; create: boolean }>> = {};
  const sessionObjects: Handle[] = [];
  const add = (spec: KeySpec, usage: KeyUsage, create: boolean) => {
    const entry = keySpecs[spec] ?? { usages: [], create: false };
    keySpecs[spec] = entry;
    if (!entry.usages.includes(usage)) entry.usages.push(usage);
    entry.create ||= create;
  };

  try {
    // ---- RSA ----------------------------------------------------------------------------------------
    const rsaGeneration = info(CKM.RSA_PKCS_KEY_PAIR_GEN);
    const rsaCreatable = (spec: KeySpec) => inRange(rsaGeneration, keySpecInfo(spec).bits);
    const pss = mechanisms.has(CKM.RSA_PKCS_PSS);
    const pkcs1 = mechanisms.has(CKM.RSA_PKCS);
    if (pss) algorithms.push('RSASSA_PSS_SHA_256', 'RSASSA_PSS_SHA_384', 'RSASSA_PSS_SHA_512');
    if (pkcs1)
      algorithms.push('RSASSA_PKCS1_V1_5_SHA_256', 'RSASSA_PKCS1_V1_5_SHA_384', 'RSASSA_PKCS1_V1_5_SHA_512');
    if (!pss) notes.push('no CKM_RSA_PKCS_PSS: RSASSA_PSS_* are not offered');
    const oaep = { sha1: false, sha256: false };
    if (mechanisms.has(CKM.RSA_PKCS_OAEP) && rsaGeneration) {
      const pair = await generateProbeRsaKey(context, Math.max(1024, rsaGeneration.minKeySize));
      if (pair) {
        sessionObjects.push(pair.publicKey, pair.privateKey);
        for (const hash of ['sha1', 'sha256'] as const) {
          const failure = oaepRoundTrip(library, context.session, pair, hash);
          if (failure === undefined) oaep[hash] = true;
          else
            notes.push(
              `RSA-OAEP with ${hash.toUpperCase()}: the token refused it (${failure}); RSAES_OAEP_${hash === 'sha1' ? 'SHA_1' : 'SHA_256'} is not offered`,
            );
        }
      } else {
        notes.push('RSA-OAEP could not be probed (no session RSA key): RSAES_OAEP_* are not offered');
      }
    }
    if (oaep.sha1) algorithms.push('RSAES_OAEP_SHA_1');
    if (oaep.sha256) algorithms.push('RSAES_OAEP_SHA_256');
    for (const spec of RSA_SPECS) {
      if (pss || pkcs1) add(spec, 'SIGN_VERIFY', rsaCreatable(spec));
      if (oaep.sha1 || oaep.sha256) add(spec, 'ENCRYPT_DECRYPT', rsaCreatable(spec));
    }

    // ---- EC -----------------------------------------------------------------------------------------
    const ecGeneration = info(CKM.EC_KEY_PAIR_GEN);
    const ecdsa = info(CKM.ECDSA);
    let ecdh = false;
    if (profile.ecdhNullKdf && mechanisms.has(CKM.ECDH1_DERIVE) && ecGeneration) {
      const failure = await ecdhRoundTrip(context, sessionObjects);
      if (failure === undefined) ecdh = true;
      else notes.push(`ECDH with the null KDF: the token refused it (${failure}); ECDH is not offered`);
    } else if (!profile.ecdhNullKdf) {
      notes.push('ECDH: not offered on this profile');
    }
    const curves: Array<[KeySpec, Algorithm]> = [
      ['ECC_NIST_P256', 'ECDSA_SHA_256'],
      ['ECC_NIST_P384', 'ECDSA_SHA_384'],
      ['ECC_NIST_P521', 'ECDSA_SHA_512'],
    ];
    for (const [spec, algorithm] of curves) {
      const bits = keySpecInfo(spec).bits;
      const supported = (mechanism: MechanismInfo | undefined) =>
        mechanism !== undefined && inRange(mechanism, bits);
      const creatable = supported(ecGeneration);
      if (supported(ecdsa)) {
        algorithms.push(algorithm);
        add(spec, 'SIGN_VERIFY', creatable);
      }
      if (ecdh && supported(info(CKM.ECDH1_DERIVE))) add(spec, 'KEY_AGREEMENT', creatable);
    }
    if (ecdh) algorithms.push('ECDH');

    // ---- AES-GCM ------------------------------------------------------------------------------------
    if (mechanisms.has(CKM.AES_GCM)) {
      const failure = profile.gcmIv === 'host' ? await gcmRoundTrip(context, sessionObjects) : undefined;
      if (failure === undefined) {
        algorithms.push('SYMMETRIC_DEFAULT');
        add('SYMMETRIC_DEFAULT', 'ENCRYPT_DECRYPT', inRange(info(CKM.AES_KEY_GEN), 32));
      } else {
        notes.push(
          `AES-GCM with 96-bit IVs: the token refused it (${failure}); SYMMETRIC_DEFAULT is not offered`,
        );
      }
    }

    // ---- HMAC ---------------------------------------------------------------------------------------
    const genericSecret = mechanisms.has(CKM.GENERIC_SECRET_KEY_GEN);
    for (const { spec, mechanism, algorithm } of HMAC_SPECS) {
      if (!mechanisms.has(mechanism)) continue;
      algorithms.push(algorithm);
      add(spec, 'GENERATE_VERIFY_MAC', genericSecret);
    }
  } finally {
    for (const handle of abandoned ? [] : sessionObjects) {
      try {
        library.C_DestroyObject(context.session, handle);
      } catch {
        // session objects also vanish with their session
      }
    }
  }

  const random = (context.tokenFlags & CKF.RNG) !== 0;
  const anyCreate = Object.values(keySpecs).some((entry) => entry?.create);
  notes.push(
    'scheduleKeyDeletion: PKCS#11 has no deletion schedule and a library cannot promise to destroy a key weeks later; ' +
      'disable the key, then destroy it with the token tools (pkcs11-tool --delete-object) after your waiting period',
  );
  if (profile.setAttributeValue) {
    notes.push(
      "disableKey clears the key's usage attributes (CKA_SIGN, CKA_DECRYPT, CKA_DERIVE…) with C_SetAttributeValue; enableKey sets those of its usage again",
    );
  }
  return {
    mechanisms,
    capabilities: {
      keySpecs,
      algorithms,
      operations: {
        createKey: anyCreate,
        enableKey: profile.setAttributeValue,
        disableKey: profile.setAttributeValue,
        scheduleKeyDeletion: false,
        cancelKeyDeletion: false,
        listKeys: true,
        generateDataKey: algorithms.includes('SYMMETRIC_DEFAULT') && random,
        generateRandom: random,
      },
      deletionWindowDays: { min: 7, max: 30 },
      notes,
    },
  };
}

function inRange(mechanism: MechanismInfo | undefined, size: number): boolean {
  if (mechanism === undefined) return false;
  const max = mechanism.maxKeySize === 0 ? Number.POSITIVE_INFINITY : mechanism.maxKeySize;
  // Some tokens state AES and generic-secret sizes in bytes, others in bits: accept either reading.
  return (
    (size >= mechanism.minKeySize && size <= max) || (size * 8 >= mechanism.minKeySize && size * 8 <= max)
  );
}

async function generateProbeRsaKey(context: ProbeContext, bits: number): Promise<KeyPair | undefined> {
  const publicTemplate: Template = [
    { type: CKA.CLASS, value: CKO.PUBLIC_KEY },
    { type: CKA.KEY_TYPE, value: CKK.RSA },
    { type: CKA.TOKEN, value: false },
    { type: CKA.MODULUS_BITS, value: bits },
    { type: CKA.PUBLIC_EXPONENT, value: Buffer.from([1, 0, 1]) },
    { type: CKA.ENCRYPT, value: true },
  ];
  const privateTemplate: Template = [
    { type: CKA.CLASS, value: CKO.PRIVATE_KEY },
    { type: CKA.KEY_TYPE, value: CKK.RSA },
    { type: CKA.TOKEN, value: false },
    { type: CKA.PRIVATE, value: true },
    { type: CKA.SENSITIVE, value: true },
    { type: CKA.DECRYPT, value: true },
  ];
  try {
    return await context.run(
      'C_GenerateKeyPair',
      context.library.C_GenerateKeyPairAsync(
        context.session,
        { mechanism: CKM.RSA_PKCS_KEY_PAIR_GEN },
        publicTemplate,
        privateTemplate,
      ),
    );
  } catch (error) {
    refusal(error);
    return undefined;
  }
}

function oaepRoundTrip(
  library: Pkcs11Library,
  session: Handle,
  pair: KeyPair,
  hash: 'sha1' | 'sha256',
): string | undefined {
  const secret = randomBytes(16);
  try {
    library.C_EncryptInit(session, rsaOaepMechanism(hash), pair.publicKey);
    const ciphertext = Buffer.from(library.C_Encrypt(session, secret, Buffer.alloc(1024)));
    library.C_DecryptInit(session, rsaOaepMechanism(hash), pair.privateKey);
    const plaintext = library.C_Decrypt(session, ciphertext, Buffer.alloc(1024));
    return plaintext.equals(secret) ? undefined : 'a round trip gave different bytes';
  } catch (error) {
    return refusal(error);
  }
}

async function ecdhRoundTrip(context: ProbeContext, sessionObjects: Handle[]): Promise<string | undefined> {
  const { library, session } = context;
  const curve: CurveName = 'P-256';
  try {
    const pair = await context.run(
      'C_GenerateKeyPair',
      library.C_GenerateKeyPairAsync(
        session,
        { mechanism: CKM.EC_KEY_PAIR_GEN },
        [
          { type: CKA.CLASS, value: CKO.PUBLIC_KEY },
          { type: CKA.KEY_TYPE, value: CKK.EC },
          { type: CKA.TOKEN, value: false },
          { type: CKA.EC_PARAMS, value: EC_PARAMS[curve] },
        ],
        [
          { type: CKA.CLASS, value: CKO.PRIVATE_KEY },
          { type: CKA.KEY_TYPE, value: CKK.EC },
          { type: CKA.TOKEN, value: false },
          { type: CKA.PRIVATE, value: true },
          { type: CKA.SENSITIVE, value: true },
          { type: CKA.DERIVE, value: true },
        ],
      ),
    );
    sessionObjects.push(pair.publicKey, pair.privateKey);
    const [point] = library.C_GetAttributeValue(session, pair.publicKey, [{ type: CKA.EC_POINT }]);
    const raw = point!.value.length === 67 ? point!.value.subarray(2) : point!.value;
    const derived = await context.run(
      'C_DeriveKey',
      library.C_DeriveKeyAsync(session, ecdhMechanism(raw), pair.privateKey, sharedSecretTemplate(32)),
    );
    sessionObjects.push(derived);
    const [value] = library.C_GetAttributeValue(session, derived, [{ type: CKA.VALUE }]);
    return value?.value.length === 32 ? undefined : 'the shared secret could not be read';
  } catch (error) {
    return refusal(error);
  }
}

async function gcmRoundTrip(context: ProbeContext, sessionObjects: Handle[]): Promise<string | undefined> {
  const { library, session } = context;
  try {
    const key = await context.run(
      'C_GenerateKey',
      library.C_GenerateKeyAsync(session, { mechanism: CKM.AES_KEY_GEN }, [
        { type: CKA.CLASS, value: CKO.SECRET_KEY },
        { type: CKA.KEY_TYPE, value: CKK.AES },
        { type: CKA.VALUE_LEN, value: 32 },
        { type: CKA.TOKEN, value: false },
        { type: CKA.SENSITIVE, value: true },
        { type: CKA.ENCRYPT, value: true },
        { type: CKA.DECRYPT, value: true },
      ]),
    );
    sessionObjects.push(key);
    const iv = randomBytes(12);
    const aad = Buffer.from('keyswitch probe');
    const plaintext = randomBytes(20);
    library.C_EncryptInit(session, aesGcmMechanism(iv, aad), key);
    const sealed = Buffer.from(
      library.C_Encrypt(session, plaintext, Buffer.alloc(plaintext.length + GCM_TAG_BYTES + 16)),
    );
    library.C_DecryptInit(session, aesGcmMechanism(iv, aad), key);
    const opened = library.C_Decrypt(session, sealed, Buffer.alloc(sealed.length));
    return opened.equals(plaintext) ? undefined : 'a round trip gave different bytes';
  } catch (error) {
    return refusal(error);
  }
}
