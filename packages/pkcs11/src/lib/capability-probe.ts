import { randomBytes } from 'node:crypto';
import {
  type Algorithm,
  type Capabilities,
  isKeyswitchError,
  type KeySpec,
  type KeyUsage,
  keySpecInfo,
} from '@keyswitch/core';
import type { KeyPair, MechanismInfo, Template } from 'pkcs11js';
import type { Pkcs11Profile } from '../profiles.js';
import { CKA, CKF, CKK, CKM, CKO } from './ck.js';
import { ckrName } from './ckr.js';
import { keySpecOf, readUlong } from './key-attributes.js';
import {
  type KeyGeneration,
  keyGeneration,
  sharedSecretTemplate,
  type TemplateStyle,
} from './key-templates.js';
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

/** How keys are made on the token, as the probe found it. */
export interface KeyCreationFindings {
  /** Whether the probe's throwaway keys could be session objects (CKA_TOKEN=false), or had to be token objects. */
  readonly sessionObjects: boolean;
  /** Which usage attributes creation templates carry: see {@link TemplateStyle}. */
  readonly templates: TemplateStyle;
}

/** The probe's findings: the manifest, and what else the provider needs to know. */
export interface ProbeResult {
  readonly capabilities: Capabilities;
  readonly mechanisms: ReadonlySet<number>;
  readonly creation: KeyCreationFindings;
}

/** The label of the token objects a probe makes where the token refuses session objects. */
export const PROBE_LABEL = 'keyswitch-capability-probe';

/** Template refusals: what a token answers a template it will not take. */
const TEMPLATE_REFUSED: ReadonlySet<string> = new Set([
  'CKR_TEMPLATE_INCONSISTENT',
  'CKR_TEMPLATE_INCOMPLETE',
  'CKR_ATTRIBUTE_VALUE_INVALID',
  'CKR_ATTRIBUTE_TYPE_INVALID',
  'CKR_ATTRIBUTE_READ_ONLY',
]);

/** Per token and profile: the probe, and the providers sharing it. */
const probes = new Map<string, { probe: Promise<ProbeResult>; users: Set<object> }>();

/**
 * A probe once per token per process: every open provider on the same module, token and profile shares
 * the first probe's answer. A failed probe is forgotten (it runs again on the next call), and so is the
 * answer once the last provider sharing it has called {@link releaseProbe}: a token reopened later is
 * probed again.
 *
 * @example
 * ```ts
 * const result = await probeOnce(`${module.path}#${token.serial}#softhsm`, provider, () => runProbe());
 * ```
 */
export function probeOnce(
  key: string,
  user: object,
  probe: () => Promise<ProbeResult>,
): Promise<ProbeResult> {
  let entry = probes.get(key);
  if (entry === undefined) {
    const running = probe();
    const created = { probe: running, users: new Set<object>() };
    entry = created;
    probes.set(key, created);
    running.catch(() => {
      if (probes.get(key) === created) probes.delete(key);
    });
  }
  entry.users.add(user);
  return entry.probe;
}

/**
 * Says that `user` (a provider, on close) no longer needs the probes it shared.
 *
 * @example
 * ```ts
 * releaseProbe(provider);
 * ```
 */
export function releaseProbe(user: object): void {
  for (const [key, entry] of probes) {
    entry.users.delete(user);
    if (entry.users.size === 0) probes.delete(key);
  }
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
  'CKR_ATTRIBUTE_READ_ONLY',
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
 * Builds the capability manifest from the token's mechanism list, then checks, once, what a mechanism list
 * cannot promise, with throwaway keys made from keyswitch's own creation templates: whether keys of each
 * family can be created at all (and with which template style), RSA-OAEP with SHA-1 and with SHA-256
 * (SoftHSM2 has no SHA-256 OAEP), AES-GCM with the v2.40 parameters, and ECDH with the null KDF giving a
 * readable shared secret. The throwaway keys are session objects, or token objects labelled
 * {@link PROBE_LABEL} where the token refuses session objects; either way they are destroyed. A key spec
 * is in the manifest only when the token can create it or already holds such a key. What fails is left
 * out (so it fails with UNSUPPORTED_ALGORITHM) and noted.
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
  const maker = new ProbeKeys(context);
  const add = (spec: KeySpec, usage: KeyUsage, create: boolean) => {
    const entry = keySpecs[spec] ?? { usages: [], create: false };
    keySpecs[spec] = entry;
    if (!entry.usages.includes(usage)) entry.usages.push(usage);
    entry.create ||= create;
  };

  try {
    // ---- RSA ----------------------------------------------------------------------------------------
    const rsaGeneration = info(CKM.RSA_PKCS_KEY_PAIR_GEN);
    const pss = mechanisms.has(CKM.RSA_PKCS_PSS);
    const pkcs1 = mechanisms.has(CKM.RSA_PKCS);
    if (pss) algorithms.push('RSASSA_PSS_SHA_256', 'RSASSA_PSS_SHA_384', 'RSASSA_PSS_SHA_512');
    if (pkcs1)
      algorithms.push('RSASSA_PKCS1_V1_5_SHA_256', 'RSASSA_PKCS1_V1_5_SHA_384', 'RSASSA_PKCS1_V1_5_SHA_512');
    if (!pss) notes.push('no CKM_RSA_PKCS_PSS: RSASSA_PSS_* are not offered');
    const oaep = { sha1: false, sha256: false };
    let rsaCreates = false;
    if (rsaGeneration && inRange(rsaGeneration, 2048)) {
      // keyswitch's RSA_2048 template at the smallest size the token makes: quicker, and the same answer.
      const made = await maker.make('RSA_2048', 'ENCRYPT_DECRYPT', Math.max(1024, rsaGeneration.minKeySize));
      if (typeof made === 'string') notes.push(`RSA keys: the token refused to create one (${made})`);
      else {
        rsaCreates = true;
        if (mechanisms.has(CKM.RSA_PKCS_OAEP) && made.kind === 'pair') {
          for (const hash of ['sha1', 'sha256'] as const) {
            const failure = oaepRoundTrip(library, context.session, made.pair, hash);
            if (failure === undefined) oaep[hash] = true;
            else
              notes.push(
                `RSA-OAEP with ${hash.toUpperCase()}: the token refused it (${failure}); RSAES_OAEP_${hash === 'sha1' ? 'SHA_1' : 'SHA_256'} is not offered`,
              );
          }
        }
      }
    }
    if (oaep.sha1) algorithms.push('RSAES_OAEP_SHA_1');
    if (oaep.sha256) algorithms.push('RSAES_OAEP_SHA_256');
    for (const spec of RSA_SPECS) {
      const creatable = rsaCreates && inRange(rsaGeneration, keySpecInfo(spec).bits);
      if (pss || pkcs1) add(spec, 'SIGN_VERIFY', creatable);
      if (oaep.sha1 || oaep.sha256) add(spec, 'ENCRYPT_DECRYPT', creatable);
    }

    // ---- EC -----------------------------------------------------------------------------------------
    const ecGeneration = info(CKM.EC_KEY_PAIR_GEN);
    const ecdsa = info(CKM.ECDSA);
    let ecCreates = false;
    let ecdh = false;
    if (ecGeneration && inRange(ecGeneration, 256) && (ecdsa || mechanisms.has(CKM.ECDH1_DERIVE))) {
      const made = await maker.make('ECC_NIST_P256', 'KEY_AGREEMENT');
      if (typeof made === 'string') notes.push(`EC keys: the token refused to create one (${made})`);
      else {
        ecCreates = true;
        if (profile.ecdhNullKdf && mechanisms.has(CKM.ECDH1_DERIVE) && made.kind === 'pair') {
          const failure = await ecdhRoundTrip(context, made.pair, maker);
          if (failure === undefined) ecdh = true;
          else notes.push(`ECDH with the null KDF: the token refused it (${failure}); ECDH is not offered`);
        }
      }
    }
    if (!profile.ecdhNullKdf) notes.push('ECDH: not offered on this profile');
    const curves: Array<[KeySpec, Algorithm]> = [
      ['ECC_NIST_P256', 'ECDSA_SHA_256'],
      ['ECC_NIST_P384', 'ECDSA_SHA_384'],
      ['ECC_NIST_P521', 'ECDSA_SHA_512'],
    ];
    for (const [spec, algorithm] of curves) {
      const bits = keySpecInfo(spec).bits;
      const supported = (mechanism: MechanismInfo | undefined) =>
        mechanism !== undefined && inRange(mechanism, bits);
      const creatable = ecCreates && supported(ecGeneration);
      if (supported(ecdsa)) {
        algorithms.push(algorithm);
        add(spec, 'SIGN_VERIFY', creatable);
      }
      if (ecdh && supported(info(CKM.ECDH1_DERIVE))) add(spec, 'KEY_AGREEMENT', creatable);
    }
    if (ecdh) algorithms.push('ECDH');

    // ---- AES-GCM ------------------------------------------------------------------------------------
    if (mechanisms.has(CKM.AES_GCM)) {
      const generation = info(CKM.AES_KEY_GEN);
      const made = inRange(generation, 32)
        ? await maker.make('SYMMETRIC_DEFAULT', 'ENCRYPT_DECRYPT')
        : undefined;
      const creatable = made !== undefined && typeof made !== 'string';
      if (typeof made === 'string') notes.push(`AES keys: the token refused to create one (${made})`);
      const failure = profile.gcmIv === 'token' ? undefined : await gcmRoundTrip(context, made, maker);
      if (failure === undefined) {
        algorithms.push('SYMMETRIC_DEFAULT');
        add('SYMMETRIC_DEFAULT', 'ENCRYPT_DECRYPT', creatable);
      } else {
        notes.push(
          `AES-GCM with 96-bit IVs: the token refused it (${failure}); SYMMETRIC_DEFAULT is not offered`,
        );
      }
    }

    // ---- HMAC ---------------------------------------------------------------------------------------
    let hmacCreates: boolean | undefined;
    for (const { spec, mechanism, algorithm } of HMAC_SPECS) {
      if (!mechanisms.has(mechanism)) continue;
      if (hmacCreates === undefined) {
        hmacCreates = false;
        if (mechanisms.has(CKM.GENERIC_SECRET_KEY_GEN)) {
          const made = await maker.make('HMAC_256', 'GENERATE_VERIFY_MAC');
          if (typeof made === 'string') notes.push(`HMAC keys: the token refused to create one (${made})`);
          else hmacCreates = true;
        }
      }
      algorithms.push(algorithm);
      add(spec, 'GENERATE_VERIFY_MAC', hmacCreates);
    }
  } finally {
    if (!abandoned) maker.destroyAll();
  }

  // A spec the token can neither create nor already holds is not in the manifest.
  const uncreatable = (Object.keys(keySpecs) as KeySpec[]).filter((spec) => !keySpecs[spec]?.create);
  if (uncreatable.length > 0) {
    const held = heldKeySpecs(library, context.session);
    for (const spec of uncreatable) {
      if (held.has(spec)) continue;
      delete keySpecs[spec];
      notes.push(`${spec}: the token can neither create such a key nor holds one, so it is not offered`);
    }
  }
  if (!maker.sessionObjects) {
    notes.push(
      `the token refuses session objects: the probe used token objects labelled ${PROBE_LABEL}, then destroyed them`,
    );
  }
  if (maker.templates === 'only-true') {
    notes.push(
      'the token refuses usage attributes set false in a template: keyswitch sends only the ones that are true',
    );
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
    creation: { sessionObjects: maker.sessionObjects, templates: maker.templates },
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

/** A throwaway key the probe made: a pair, or a secret key. */
type ProbeKey =
  | { readonly kind: 'pair'; readonly pair: KeyPair }
  | { readonly kind: 'secret'; readonly handle: Handle };

/**
 * Makes the probe's throwaway keys with keyswitch's creation templates, finding out on the way what the
 * token accepts: session objects first, token objects if those are refused; usage attributes set false
 * explicitly first, only the true ones if those are refused. Every object made is destroyed by
 * {@link ProbeKeys.destroyAll}.
 */
class ProbeKeys {
  readonly #context: ProbeContext;
  readonly #made: Handle[] = [];
  /** Undefined until the first key settles it. */
  #sessionObjects: boolean | undefined;
  #templates: TemplateStyle | undefined;

  constructor(context: ProbeContext) {
    this.#context = context;
  }

  get sessionObjects(): boolean {
    return this.#sessionObjects ?? true;
  }

  get templates(): TemplateStyle {
    return this.#templates ?? 'explicit-false';
  }

  /** Keeps a derived object for destruction. */
  keep(handle: Handle): void {
    this.#made.push(handle);
  }

  /**
   * A throwaway key of `spec` for `usage` (RSA: of `modulusBits`), or the CKR_* name of the token's
   * refusal.
   */
  async make(spec: KeySpec, usage: KeyUsage, modulusBits?: number): Promise<ProbeKey | string> {
    const persistence = this.#sessionObjects === undefined ? [true, false] : [this.#sessionObjects];
    const styles: TemplateStyle[] =
      this.#templates === undefined ? ['explicit-false', 'only-true'] : [this.#templates];
    let last = 'CKR_TEMPLATE_INCONSISTENT';
    for (const sessionObject of persistence) {
      for (const style of styles) {
        const generation = keyGeneration(spec, usage, randomBytes(16), PROBE_LABEL, style);
        try {
          const key = await this.#generate(forProbe(generation, sessionObject, modulusBits));
          this.#sessionObjects = sessionObject;
          this.#templates = style;
          return key;
        } catch (error) {
          last = refusal(error);
          // Anything but a template refusal will not change with another template.
          if (!TEMPLATE_REFUSED.has(last)) return last;
        }
      }
    }
    return last;
  }

  async #generate(generation: KeyGeneration): Promise<ProbeKey> {
    const { library, session, run } = this.#context;
    if (generation.kind === 'secret') {
      const handle = await run(
        'C_GenerateKey',
        library.C_GenerateKeyAsync(session, generation.mechanism, generation.template),
      );
      this.#made.push(handle);
      return { kind: 'secret', handle };
    }
    const pair = await run(
      'C_GenerateKeyPair',
      library.C_GenerateKeyPairAsync(
        session,
        generation.mechanism,
        generation.publicTemplate,
        generation.privateTemplate,
      ),
    );
    this.#made.push(pair.publicKey, pair.privateKey);
    return { kind: 'pair', pair };
  }

  /** Destroys every object made (session objects would go with their session; token objects would not). */
  destroyAll(): void {
    for (const handle of this.#made.splice(0)) {
      try {
        this.#context.library.C_DestroyObject(this.#context.session, handle);
      } catch {
        // Already gone (session objects vanish with their session); nothing else can be done here.
      }
    }
  }
}

/** The same generation with session objects (CKA_TOKEN=false) if asked, and another RSA modulus size. */
function forProbe(
  generation: KeyGeneration,
  sessionObject: boolean,
  modulusBits: number | undefined,
): KeyGeneration {
  const session = (template: Template): Template =>
    template.map((attribute) => {
      if (attribute.type === CKA.TOKEN && sessionObject) return { type: CKA.TOKEN, value: false };
      if (attribute.type === CKA.MODULUS_BITS && modulusBits !== undefined)
        return { type: CKA.MODULUS_BITS, value: modulusBits };
      return attribute;
    });
  return generation.kind === 'secret'
    ? { ...generation, template: session(generation.template) }
    : {
        ...generation,
        publicTemplate: session(generation.publicTemplate),
        privateTemplate: session(generation.privateTemplate),
      };
}

/** The specs of the keys the token already holds (private and secret keys; at most 1,000 looked at). */
function heldKeySpecs(library: Pkcs11Library, session: Handle): Set<KeySpec> {
  const held = new Set<KeySpec>();
  for (const objectClass of [CKO.PRIVATE_KEY, CKO.SECRET_KEY]) {
    let handles: Handle[] = [];
    try {
      library.C_FindObjectsInit(session, [{ type: CKA.CLASS, value: objectClass }]);
      try {
        handles = library.C_FindObjects(session, 1000);
      } finally {
        library.C_FindObjectsFinal(session);
      }
    } catch {
      continue;
    }
    for (const handle of handles) {
      try {
        held.add(keySpecOf(readSizeFacts(library, session, handle, objectClass)));
      } catch {
        // A key keyswitch has no spec for, or one whose attributes cannot be read: not a spec held.
      }
    }
  }
  return held;
}

function readSizeFacts(library: Pkcs11Library, session: Handle, handle: Handle, objectClass: number) {
  const [type] = library.C_GetAttributeValue(session, handle, [{ type: CKA.KEY_TYPE }]);
  const keyType = readUlong(type?.value);
  const attribute = (kind: number) =>
    library.C_GetAttributeValue(session, handle, [{ type: kind }])[0]?.value;
  if (objectClass === CKO.SECRET_KEY) return { keyType, valueLength: readUlong(attribute(CKA.VALUE_LEN)) };
  if (keyType === CKK.RSA) return { keyType, modulus: attribute(CKA.MODULUS) };
  return { keyType, ecParams: attribute(CKA.EC_PARAMS) };
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

async function ecdhRoundTrip(
  context: ProbeContext,
  pair: KeyPair,
  maker: ProbeKeys,
): Promise<string | undefined> {
  const { library, session } = context;
  try {
    const [point] = library.C_GetAttributeValue(session, pair.publicKey, [{ type: CKA.EC_POINT }]);
    const raw = point!.value.length === 67 ? point!.value.subarray(2) : point!.value;
    const derived = await context.run(
      'C_DeriveKey',
      library.C_DeriveKeyAsync(session, ecdhMechanism(raw), pair.privateKey, sharedSecretTemplate(32)),
    );
    maker.keep(derived);
    const [value] = library.C_GetAttributeValue(session, derived, [{ type: CKA.VALUE }]);
    return value?.value.length === 32 ? undefined : 'the shared secret could not be read';
  } catch (error) {
    return refusal(error);
  }
}

/** A GCM round trip with the probe's AES key (or the refusal that kept the probe from making one). */
async function gcmRoundTrip(
  context: ProbeContext,
  made: ProbeKey | string | undefined,
  maker: ProbeKeys,
): Promise<string | undefined> {
  const { library, session } = context;
  let key: Handle;
  if (made !== undefined && typeof made !== 'string' && made.kind === 'secret') key = made.handle;
  else {
    // The token will not make a keyswitch AES key; a plain session key still tells whether GCM works
    // with keys it already holds.
    try {
      key = await context.run(
        'C_GenerateKey',
        library.C_GenerateKeyAsync(session, { mechanism: CKM.AES_KEY_GEN }, [
          { type: CKA.CLASS, value: CKO.SECRET_KEY },
          { type: CKA.KEY_TYPE, value: CKK.AES },
          { type: CKA.VALUE_LEN, value: 32 },
          { type: CKA.TOKEN, value: !maker.sessionObjects },
          { type: CKA.LABEL, value: PROBE_LABEL },
          { type: CKA.ENCRYPT, value: true },
          { type: CKA.DECRYPT, value: true },
        ]),
      );
      maker.keep(key);
    } catch (error) {
      return refusal(error);
    }
  }
  try {
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
