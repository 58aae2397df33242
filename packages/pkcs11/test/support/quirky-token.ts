import type { CurveName } from '@keyswitch/core';
import type { Template } from 'pkcs11js';
import { CKA, CKM } from '../../src/lib/ck.js';
import { EC_PARAMS } from '../../src/lib/key-attributes.js';
import type { Pkcs11Library } from '../../src/lib/shared-module.js';
import type { Fault, TemplateCondition } from '../../src/lib/worker-protocol.js';

/** Habits of real tokens keyswitch must work with, played on top of a real token's library. */
export interface Quirks {
  /** Refuses objects with CKA_TOKEN=false (CKR_TEMPLATE_INCONSISTENT), as some HSMs do. */
  readonly refuseSessionObjects?: boolean;
  /** Refuses a template with a usage attribute set false (CKR_ATTRIBUTE_VALUE_INVALID). */
  readonly refuseExplicitFalse?: boolean;
  /** The largest RSA modulus the token makes (its mechanism info says so, and generation refuses more). */
  readonly maxRsaBits?: number;
  /**
   * Generation refuses RSA moduli above this (CKR_KEY_SIZE_RANGE) while the mechanism info still states
   * the real token's range: a limit no mechanism list reveals.
   */
  readonly refuseRsaAboveBits?: number;
  /** Curves whose key generation is refused (CKR_CURVE_NOT_SUPPORTED) though the mechanism info allows them. */
  readonly refuseCurves?: readonly CurveName[];
  /** Generic-secret lengths in bytes (CKA_VALUE_LEN) whose generation is refused (CKR_KEY_SIZE_RANGE). */
  readonly refuseSecretBytes?: readonly number[];
  /** Answers CKA_MODULUS cut to this many bytes (0: empty), as a faulty token might. */
  readonly modulusBytes?: number;
  /** Answers C_Sign with only the first this many bytes of the signature. */
  readonly signatureBytes?: number;
  /** Answers CKA_VALUE (a derived shared secret) with only the first this many bytes. */
  readonly valueBytes?: number;
}

const USAGE_ATTRIBUTES = new Set<number>([
  CKA.ENCRYPT,
  CKA.DECRYPT,
  CKA.SIGN,
  CKA.VERIFY,
  CKA.WRAP,
  CKA.UNWRAP,
  CKA.DERIVE,
  CKA.SIGN_RECOVER,
  CKA.VERIFY_RECOVER,
]);

type Methods = Record<string, (...args: unknown[]) => unknown>;

const refused = (name: string) => Object.assign(new Error(name), { code: 0 });

/** The refusal a quirky token gives this template, or undefined when it takes it. */
function refusal(quirks: Quirks, templates: readonly Template[]): string | undefined {
  for (const template of templates) {
    for (const { type, value } of template) {
      if (quirks.refuseSessionObjects && type === CKA.TOKEN && value === false)
        return 'CKR_TEMPLATE_INCONSISTENT';
      if (quirks.refuseExplicitFalse && USAGE_ATTRIBUTES.has(type) && value === false)
        return 'CKR_ATTRIBUTE_VALUE_INVALID';
      if (
        type === CKA.EC_PARAMS &&
        quirks.refuseCurves?.some((name) => EC_PARAMS[name].equals(value as Buffer))
      )
        return 'CKR_CURVE_NOT_SUPPORTED';
      if (type === CKA.VALUE_LEN && quirks.refuseSecretBytes?.includes(Number(value)))
        return 'CKR_KEY_SIZE_RANGE';
      const rsaLimit = quirks.maxRsaBits ?? quirks.refuseRsaAboveBits;
      if (rsaLimit !== undefined && type === CKA.MODULUS_BITS && Number(value) > rsaLimit)
        return 'CKR_KEY_SIZE_RANGE';
    }
  }
  return undefined;
}

/**
 * Runs `body` with the library of a real token behaving like a token with `quirks`: key generation
 * refuses what such a token refuses; everything else is the real token. Puts the library back after.
 */
export async function withQuirks<T>(
  library: Pkcs11Library,
  quirks: Quirks,
  body: () => Promise<T>,
): Promise<T> {
  const methods = library as unknown as Methods;
  const originals = {
    C_GenerateKeyAsync: methods.C_GenerateKeyAsync!,
    C_GenerateKeyPairAsync: methods.C_GenerateKeyPairAsync!,
    C_GetMechanismInfo: methods.C_GetMechanismInfo!,
    C_GetAttributeValue: methods.C_GetAttributeValue!,
    C_Sign: methods.C_Sign!,
  };
  const cut: Partial<Record<number, number | undefined>> = {
    [CKA.MODULUS]: quirks.modulusBytes,
    [CKA.VALUE]: quirks.valueBytes,
  };
  methods.C_GetAttributeValue = (...args) => {
    const attributes = originals.C_GetAttributeValue.apply(library, args) as Array<{
      type: number;
      value: Buffer;
    }>;
    return attributes.map((attribute) => {
      const bytes = cut[attribute.type];
      return bytes === undefined ? attribute : { ...attribute, value: attribute.value.subarray(0, bytes) };
    });
  };
  methods.C_Sign = (...args) => {
    const signature = originals.C_Sign.apply(library, args) as Buffer;
    return quirks.signatureBytes === undefined ? signature : signature.subarray(0, quirks.signatureBytes);
  };
  methods.C_GenerateKeyAsync = (session, mechanism, template) => {
    const refusedWith = refusal(quirks, [template as Template]);
    if (refusedWith) return Promise.reject(refused(refusedWith));
    return originals.C_GenerateKeyAsync.call(library, session, mechanism, template);
  };
  methods.C_GenerateKeyPairAsync = (session, mechanism, publicTemplate, privateTemplate) => {
    const refusedWith = refusal(quirks, [publicTemplate as Template, privateTemplate as Template]);
    if (refusedWith) return Promise.reject(refused(refusedWith));
    return originals.C_GenerateKeyPairAsync.call(
      library,
      session,
      mechanism,
      publicTemplate,
      privateTemplate,
    );
  };
  methods.C_GetMechanismInfo = (slot, mechanism) => {
    const info = originals.C_GetMechanismInfo.call(library, slot, mechanism) as { maxKeySize: number };
    if (quirks.maxRsaBits !== undefined && mechanism === CKM.RSA_PKCS_KEY_PAIR_GEN)
      return { ...info, maxKeySize: quirks.maxRsaBits };
    return info;
  };
  try {
    return await body();
  } finally {
    Object.assign(methods, originals);
  }
}

/**
 * The key-generation quirks as faults for the fault layer, so that a provider's worker threads play them
 * too (`installTestFaults(quirkFaults({ refuseSessionObjects: true }))` before the provider opens).
 * Only the refusals of key templates can be played this way.
 */
export function quirkFaults(quirks: Quirks): Fault[] {
  if (
    quirks.maxRsaBits !== undefined ||
    quirks.modulusBytes !== undefined ||
    quirks.signatureBytes !== undefined
  )
    throw new Error('only template refusals can be played by the fault layer');
  const refusals: Array<[TemplateCondition, string]> = [];
  if (quirks.refuseSessionObjects)
    refusals.push([{ attributes: [CKA.TOKEN], equals: false }, 'CKR_TEMPLATE_INCONSISTENT']);
  if (quirks.refuseExplicitFalse)
    refusals.push([{ attributes: [...USAGE_ATTRIBUTES], equals: false }, 'CKR_ATTRIBUTE_VALUE_INVALID']);
  if (quirks.refuseRsaAboveBits !== undefined)
    refusals.push([
      { attributes: [CKA.MODULUS_BITS], above: quirks.refuseRsaAboveBits },
      'CKR_KEY_SIZE_RANGE',
    ]);
  return refusals.flatMap(([when, error]) =>
    ['C_GenerateKey', 'C_GenerateKeyPair'].map((name) => ({ function: name, error, when })),
  );
}
