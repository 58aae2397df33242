import { randomBytes } from 'node:crypto';
import type { KeySpec, KeyUsage } from '@keyswitch/core';
import type { KeyPair, Template } from 'pkcs11js';
import type { ProbeContext } from './capability-probe.js';
import { CKA } from './ck.js';
import { type KeyGeneration, keyGeneration, type TemplateStyle } from './key-templates.js';
import { findObjects } from './object-search.js';
import { refusal } from './probe-refusal.js';
import type { Handle, Pkcs11Library } from './shared-module.js';

/**
 * The label of the token objects a probe makes where the token refuses session objects.
 *
 * @example
 * ```ts
 * library.C_FindObjectsInit(session, [{ type: CKA.LABEL, value: PROBE_LABEL }]); // finds none after a probe
 * ```
 */
export const PROBE_LABEL = 'keyswitch-capability-probe';

/**
 * Destroys every object labelled {@link PROBE_LABEL}: what a probe left on the token when it could not
 * clean up (a call past its deadline, a process that died). Run before each probe. Returns how many
 * objects were destroyed; one that cannot be destroyed is left (the next probe tries again).
 *
 * @example
 * ```ts
 * const destroyed = destroyLeftoverProbeObjects(library, session);
 * ```
 */
export function destroyLeftoverProbeObjects(library: Pkcs11Library, session: Handle): number {
  let destroyed = 0;
  for (const handle of findObjects(library, session, [{ type: CKA.LABEL, value: PROBE_LABEL }])) {
    try {
      library.C_DestroyObject(session, handle);
      destroyed += 1;
    } catch {
      // Gone meanwhile, or the token will not destroy it now: the next probe tries again.
    }
  }
  return destroyed;
}

/** Template refusals: what a token answers a template it will not take. */
const TEMPLATE_REFUSED: ReadonlySet<string> = new Set([
  'CKR_TEMPLATE_INCONSISTENT',
  'CKR_TEMPLATE_INCOMPLETE',
  'CKR_ATTRIBUTE_VALUE_INVALID',
  'CKR_ATTRIBUTE_TYPE_INVALID',
  'CKR_ATTRIBUTE_READ_ONLY',
]);

/**
 * A throwaway key the probe made: a pair, or a secret key.
 *
 * @example
 * ```ts
 * const made = await keys.make('RSA_2048', 'ENCRYPT_DECRYPT');
 * if (typeof made !== 'string' && made.kind === 'pair') useKeys(made.pair);
 * ```
 */
export type ProbeKey =
  | { readonly kind: 'pair'; readonly pair: KeyPair }
  | { readonly kind: 'secret'; readonly handle: Handle };

/**
 * Makes the probe's throwaway keys with keyswitch's creation templates, finding out on the way what the
 * token accepts: session objects first, token objects if those are refused; usage attributes set false
 * explicitly first, only the true ones if those are refused. Every object made is destroyed by
 * {@link ProbeKeys.destroyAll}.
 *
 * @example
 * ```ts
 * const keys = new ProbeKeys(context);
 * try {
 *   const made = await keys.make('ECC_NIST_P256', 'KEY_AGREEMENT'); // a key, or the CKR_* refusal
 * } finally {
 *   keys.destroyAll();
 * }
 * ```
 */
export class ProbeKeys {
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
