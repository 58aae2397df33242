import {
  type Algorithm,
  type Capabilities,
  type KeySpec,
  KeyswitchError,
  type KeyUsage,
  keySpecInfo,
} from '@keyswitch/core';
import type { MechanismInfo } from 'pkcs11js';
import type { Pkcs11Profile } from '../profiles.js';
import { CKF, CKM } from './ck.js';
import { ckrName } from './ckr.js';
import { heldKeySpecs } from './held-key-specs.js';
import type { TemplateStyle } from './key-templates.js';
import { destroyLeftoverProbeObjects, PROBE_LABEL, ProbeKeys } from './probe-keys.js';
import { refusal } from './probe-refusal.js';
import { ecdhRoundTrip, gcmRoundTrip, oaepRoundTrip } from './probe-round-trips.js';
import type { Handle, Pkcs11Library } from './shared-module.js';

/**
 * What the probe needs: the library, the token's slot and flags, a session of its own, and a runner for
 * async calls.
 *
 * @example
 * ```ts
 * const context: ProbeContext = { library, slot, tokenFlags, session, profile, run: (what, call) => call };
 * ```
 */
export interface ProbeContext {
  readonly library: Pkcs11Library;
  readonly slot: Handle;
  readonly tokenFlags: number;
  readonly session: Handle;
  readonly profile: Pkcs11Profile;
  /** Runs an asynchronous native call with the pool's timeout. */
  readonly run: <T>(what: string, call: Promise<T>) => Promise<T>;
}

/**
 * How keys are made on the token, as the probe found it.
 *
 * @example
 * ```ts
 * const { sessionObjects, templates } = (await probeCapabilities(context)).creation;
 * ```
 */
export interface KeyCreationFindings {
  /** Whether the probe's throwaway keys could be session objects (CKA_TOKEN=false), or had to be token objects. */
  readonly sessionObjects: boolean;
  /** Which usage attributes creation templates carry: see {@link TemplateStyle}. */
  readonly templates: TemplateStyle;
  /**
   * Specs offered for creation from the mechanism's key-size range without a key of that size made by
   * the probe (RSA sizes: making a 4096-bit key at every start-up costs seconds). The first creation the
   * token refuses for its size withdraws the spec: see {@link creationRefused}.
   */
  readonly inferred: readonly KeySpec[];
}

/**
 * The probe's findings: the manifest, and what else the provider needs to know.
 *
 * @example
 * ```ts
 * const { capabilities, mechanisms } = await probeCapabilities(context);
 * ```
 */
export interface ProbeResult {
  readonly capabilities: Capabilities;
  readonly mechanisms: ReadonlySet<number>;
  readonly creation: KeyCreationFindings;
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
 * EC curve, HMAC size and AES can be created (and with which template style; RSA at one size, the other
 * sizes inferred from the mechanism's range, see {@link KeyCreationFindings.inferred}), RSA-OAEP with SHA-1 and with SHA-256
 * (SoftHSM2 has no SHA-256 OAEP), AES-GCM with the v2.40 parameters, and ECDH with the null KDF giving a
 * readable shared secret. The throwaway keys are session objects, or token objects labelled
 * {@link PROBE_LABEL} where the token refuses session objects; either way they are destroyed, and objects
 * with that label an earlier probe left behind (it timed out, or its process died) are destroyed first. A key spec
 * is in the manifest only when the token can create it or already holds such a key. What fails is left
 * out (so it fails with UNSUPPORTED_ALGORITHM) and noted.
 *
 * @example
 * ```ts
 * const result = await probeOnce(key, provider, () => probeCapabilities(context));
 * ```
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
  const leftovers = destroyLeftoverProbeObjects(library, context.session);
  if (leftovers > 0) {
    notes.push(
      `destroyed ${leftovers} objects labelled ${PROBE_LABEL} that an unfinished earlier probe left`,
    );
  }
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

    // ---- EC: a throwaway key per curve (cheap), ECDH with the P-256 one -----------------------------
    const ecGeneration = info(CKM.EC_KEY_PAIR_GEN);
    const ecdsa = info(CKM.ECDSA);
    const ecdhDerive = info(CKM.ECDH1_DERIVE);
    let ecdh = false;
    const curves: Array<[KeySpec, Algorithm]> = [
      ['ECC_NIST_P256', 'ECDSA_SHA_256'],
      ['ECC_NIST_P384', 'ECDSA_SHA_384'],
      ['ECC_NIST_P521', 'ECDSA_SHA_512'],
    ];
    for (const [spec, algorithm] of curves) {
      const bits = keySpecInfo(spec).bits;
      const supported = (mechanism: MechanismInfo | undefined) =>
        mechanism !== undefined && inRange(mechanism, bits);
      const useful = supported(ecdsa) || (profile.ecdhNullKdf && supported(ecdhDerive));
      let creatable = false;
      if (useful && supported(ecGeneration)) {
        const made = await maker.make(spec, 'KEY_AGREEMENT');
        if (typeof made === 'string') notes.push(`${spec} keys: the token refused to create one (${made})`);
        else {
          creatable = true;
          if (spec === 'ECC_NIST_P256' && profile.ecdhNullKdf && ecdhDerive && made.kind === 'pair') {
            const failure = await ecdhRoundTrip(context, made.pair, maker);
            if (failure === undefined) ecdh = true;
            else notes.push(`ECDH with the null KDF: the token refused it (${failure}); ECDH is not offered`);
          }
        }
      }
      if (supported(ecdsa)) {
        algorithms.push(algorithm);
        add(spec, 'SIGN_VERIFY', creatable);
      }
      if (ecdh && supported(ecdhDerive)) add(spec, 'KEY_AGREEMENT', creatable);
    }
    if (!profile.ecdhNullKdf) notes.push('ECDH: not offered on this profile');
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

    // ---- HMAC: a throwaway key per size ----------------------------------------------------------
    for (const { spec, mechanism, algorithm } of HMAC_SPECS) {
      if (!mechanisms.has(mechanism)) continue;
      let creatable = false;
      if (mechanisms.has(CKM.GENERIC_SECRET_KEY_GEN)) {
        const made = await maker.make(spec, 'GENERATE_VERIFY_MAC');
        if (typeof made === 'string') notes.push(`${spec} keys: the token refused to create one (${made})`);
        else creatable = true;
      }
      algorithms.push(algorithm);
      add(spec, 'GENERATE_VERIFY_MAC', creatable);
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
    creation: {
      sessionObjects: maker.sessionObjects,
      templates: maker.templates,
      inferred: RSA_SPECS.filter((spec) => keySpecs[spec]?.create === true),
    },
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

/** What a token answers a key generation it refuses for the key's size (or its template at that size). */
const SIZE_REFUSED: ReadonlySet<string> = new Set([
  'CKR_KEY_SIZE_RANGE',
  'CKR_TEMPLATE_INCONSISTENT',
  'CKR_TEMPLATE_INCOMPLETE',
  'CKR_ATTRIBUTE_VALUE_INVALID',
]);

/**
 * After a failed createKey: when the spec's creation was only inferred from the mechanism's size range
 * ({@link KeyCreationFindings.inferred}) and the token refused it for its size or template, the spec is
 * withdrawn from creation in the probe's manifest (shared by every provider of the token in this process)
 * and the error says so; any other failure is returned as it was. On a profile whose token races its own
 * store (SoftHSM2, where CKR_TEMPLATE_INCONSISTENT can be that race), only CKR_KEY_SIZE_RANGE counts.
 *
 * @returns the error to throw: UNSUPPORTED_ALGORITHM (not retryable) when the spec was withdrawn
 * @example
 * ```ts
 * throw creationRefused(probed, { spec: 'RSA_4096' }, error, { token, profile });
 * ```
 */
export function creationRefused(
  probed: ProbeResult,
  request: { readonly spec: KeySpec },
  error: unknown,
  parts: { readonly token: { readonly label: string }; readonly profile: Pkcs11Profile },
): unknown {
  const { spec } = request;
  const name = ckrName(error);
  const refused =
    name === 'CKR_KEY_SIZE_RANGE' || (!parts.profile.retriesRacedGeneration && SIZE_REFUSED.has(name ?? ''));
  if (!refused || !probed.creation.inferred.includes(spec)) return error;
  // The probe's answer is plain data (it crossed from a worker thread); the manifest every provider of the
  // token returns is built on it, so the withdrawal reaches them all.
  const keySpecs = probed.capabilities.keySpecs as Partial<
    Record<KeySpec, { usages: readonly KeyUsage[]; create: boolean }>
  >;
  const entry = keySpecs[spec];
  const withdrawn = `${spec}: the token refused to create such a key (${name}) although its mechanism information allows that size, so creating one is no longer offered`;
  if (entry?.create === true) {
    keySpecs[spec] = { ...entry, create: false };
    (probed.capabilities.notes as string[] | undefined)?.push(withdrawn);
  }
  return new KeyswitchError('UNSUPPORTED_ALGORITHM', `token "${parts.token.label}": ${withdrawn}`, {
    cause: error,
    retryable: false,
  });
}

function inRange(mechanism: MechanismInfo | undefined, size: number): boolean {
  if (mechanism === undefined) return false;
  const max = mechanism.maxKeySize === 0 ? Number.POSITIVE_INFINITY : mechanism.maxKeySize;
  // Some tokens state AES and generic-secret sizes in bytes, others in bits: accept either reading.
  return (
    (size >= mechanism.minKeySize && size <= max) || (size * 8 >= mechanism.minKeySize && size * 8 <= max)
  );
}
