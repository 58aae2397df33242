import type { Template } from 'pkcs11js';
import { CKA, CKM, CKO } from '../../src/lib/ck.js';
import type { Pkcs11Library } from '../../src/lib/shared-module.js';

/** Habits of real tokens keyswitch must work with, played on top of a real token's library. */
export interface Quirks {
  /** Refuses objects with CKA_TOKEN=false (CKR_TEMPLATE_INCONSISTENT), as some HSMs do. */
  readonly refuseSessionObjects?: boolean;
  /** Refuses a template with a usage attribute set false (CKR_ATTRIBUTE_VALUE_INVALID). */
  readonly refuseExplicitFalse?: boolean;
  /** The largest RSA modulus the token makes (its mechanism info says so, and generation refuses more). */
  readonly maxRsaBits?: number;
  /** Refuses C_CreateObject of private keys (CKR_ATTRIBUTE_VALUE_INVALID), as a token that only unwraps them. */
  readonly refusePrivateKeyObjects?: boolean;
  /** Refuses C_CreateObject of public keys (CKR_TEMPLATE_INCONSISTENT). */
  readonly refusePublicKeyObjects?: boolean;
  /** Answers an empty CKA_VALUE_LEN, as opencryptoki does for a secret key made with C_CreateObject. */
  readonly noValueLength?: boolean;
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
      if (quirks.maxRsaBits !== undefined && type === CKA.MODULUS_BITS && Number(value) > quirks.maxRsaBits)
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
    C_CreateObject: methods.C_CreateObject!,
    C_GetAttributeValue: methods.C_GetAttributeValue!,
  };
  methods.C_GetAttributeValue = (session, handle, template) => {
    const answer = originals.C_GetAttributeValue.call(library, session, handle, template) as Template;
    if (!quirks.noValueLength) return answer;
    return answer.map((attribute) =>
      attribute.type === CKA.VALUE_LEN ? { type: CKA.VALUE_LEN, value: Buffer.alloc(0) } : attribute,
    );
  };
  methods.C_CreateObject = (session, template) => {
    const objectClass = (template as Template).find((attribute) => attribute.type === CKA.CLASS)?.value;
    if (quirks.refusePrivateKeyObjects && objectClass === CKO.PRIVATE_KEY)
      throw refused('CKR_ATTRIBUTE_VALUE_INVALID');
    if (quirks.refusePublicKeyObjects && objectClass === CKO.PUBLIC_KEY)
      throw refused('CKR_TEMPLATE_INCONSISTENT');
    const refusedWith = refusal(quirks, [template as Template]);
    if (refusedWith) throw refused(refusedWith);
    return originals.C_CreateObject.call(library, session, template);
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
