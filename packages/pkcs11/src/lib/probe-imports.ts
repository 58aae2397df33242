import { generateKeyPair, generateKeySync, type KeyObject, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import {
  type Capabilities,
  type ImportKeyKind,
  isKeyswitchError,
  type KeySpec,
  type KeyUsage,
  keySpecInfo,
} from '@keyswitch/core';
import type { Template } from 'pkcs11js';
import { CKA } from './ck.js';
import { ckrName } from './ckr.js';
import { writeImportedKey } from './import-objects.js';
import { type ImportMaterial, importTemplates, type KeyImport } from './import-templates.js';
import type { TemplateStyle } from './key-templates.js';
import { PROBE_LABEL } from './probe-keys.js';
import { refusal } from './probe-refusal.js';
import type { Handle } from './shared-module.js';
import type { TokenContext } from './token-context.js';

const generatePair = promisify(generateKeyPair);

/**
 * How keys are imported on the token, as the probe found it: the kinds of key material C_CreateObject
 * takes, and the template style it takes them in.
 *
 * @example
 * ```ts
 * const { kinds, templates } = (await probeCapabilities(context)).imports;
 * ```
 */
export interface ImportFindings {
  readonly kinds: readonly ImportKeyKind[];
  readonly templates: TemplateStyle;
}

/** How the probe's throwaway imports are made: as the probe's throwaway keys were. */
export interface ImportProbeSetup {
  readonly context: TokenContext;
  readonly session: Handle;
  /** Whether the token takes session objects (CKA_TOKEN=false); token objects labelled PROBE_LABEL if not. */
  readonly sessionObjects: boolean;
  /** The template style key creation was found to take: tried first. */
  readonly templates: TemplateStyle;
}

/**
 * Finds out, once per token, which kinds of key material importKey can write: a pair (private and public
 * key objects), a secret key and a public key alone, each written with C_CreateObject from the templates
 * an import uses, read back and destroyed. Only the kinds the manifest's key specs need are tried. A token
 * that refuses a kind (one that takes private keys only by unwrapping, say) does not claim it, and a note
 * says why; errors that say nothing about support (a lost session, a device error) propagate.
 *
 * @example
 * ```ts
 * const { kinds } = await probeImports(setup, capabilities.keySpecs, notes);
 * ```
 */
export async function probeImports(
  setup: ImportProbeSetup,
  keySpecs: Capabilities['keySpecs'],
  notes: string[],
): Promise<ImportFindings> {
  const held = (Object.keys(keySpecs) as KeySpec[]).filter((spec) => keySpecs[spec] !== undefined);
  const asymmetric =
    held.find((spec) => spec === 'ECC_NIST_P256') ??
    held.find((spec) => keySpecInfo(spec).family === 'EC') ??
    held.find((spec) => keySpecInfo(spec).family === 'RSA');
  const secret =
    held.find((spec) => spec === 'SYMMETRIC_DEFAULT') ?? held.find((spec) => spec.startsWith('HMAC_'));
  const styles: TemplateStyle[] =
    setup.templates === 'explicit-false' ? ['explicit-false', 'only-true'] : ['only-true'];
  const kinds: ImportKeyKind[] = [];
  const tries: Array<[ImportKeyKind, KeySpec | undefined]> = [
    ['private', asymmetric],
    ['public', asymmetric],
    ['secret', secret],
  ];
  let pair: { privateKey: KeyObject; publicKey: KeyObject } | undefined;
  for (const [kind, spec] of tries) {
    if (spec === undefined) continue;
    const usage: KeyUsage =
      keySpecs[spec]!.usages.find((candidate) => candidate !== 'KEY_AGREEMENT' || kind !== 'public') ??
      'SIGN_VERIFY';
    let key: KeyObject;
    if (kind === 'secret') key = generateKeySync('hmac', { length: keySpecInfo(spec).bits });
    else {
      pair ??= await newPair(spec);
      key = kind === 'private' ? pair.privateKey : pair.publicKey;
    }
    const failure = tryImport(setup, { kind, spec, usage, key }, styles);
    if (failure === undefined) kinds.push(kind);
    else notes.push(`importing ${kind} keys: ${failure}; importKey does not take them`);
  }
  if (kinds.includes('secret') && held.some((spec) => spec.startsWith('HMAC_'))) {
    notes.push(
      'HMAC keys are imported as generic secrets as long as their spec (32, 48 or 64 bytes): a token tells their spec by their length',
    );
  }
  return { kinds, templates: styles[0]! };
}

function newPair(spec: KeySpec): Promise<{ privateKey: KeyObject; publicKey: KeyObject }> {
  const info = keySpecInfo(spec);
  return info.family === 'RSA'
    ? generatePair('rsa', { modulusLength: info.bits })
    : generatePair('ec', { namedCurve: info.curve! });
}

/**
 * Writes one throwaway import in each remaining template style until the token takes one (then that
 * style is kept: `styles` is narrowed in place), and destroys it. Answers the refusal, or undefined.
 */
function tryImport(
  setup: ImportProbeSetup,
  material: ImportMaterial,
  styles: TemplateStyle[],
): string | undefined {
  let last: string | undefined;
  for (const style of [...styles]) {
    const keyImport = forProbe(
      importTemplates(material, randomBytes(16), PROBE_LABEL, style),
      setup.sessionObjects,
    );
    try {
      const key = writeImportedKey(setup.context, setup.session, keyImport, undefined);
      for (const handle of new Set([key.primary, key.privateKey, key.publicKey])) {
        if (handle !== undefined) destroy(setup, handle);
      }
      styles.splice(0, styles.length, style);
      return undefined;
    } catch (error) {
      last = refused(error);
    }
  }
  return last;
}

/** The CKR_* name of a refusal (or why the key written could not be used); anything else is rethrown. */
function refused(error: unknown): string {
  let cause = error;
  while (isKeyswitchError(cause) && cause.cause !== undefined) cause = cause.cause;
  // Written, but not read back as what was written (opencryptoki computes no CKA_VALUE_LEN for a generic
  // secret made with C_CreateObject): keyswitch could not use such a key.
  if (isKeyswitchError(cause, 'UNSUPPORTED_ALGORITHM')) {
    return `the token took one, but keyswitch cannot use what it reads back (${cause.detail})`;
  }
  // PKCS#11 v3's "not allowed here" (a token that imports private keys only by unwrapping them).
  const name = ckrName(cause) === 'CKR_ACTION_PROHIBITED' ? 'CKR_ACTION_PROHIBITED' : refusal(cause);
  return `the token refused C_CreateObject of one (${name})`;
}

function destroy(setup: ImportProbeSetup, handle: Handle): void {
  try {
    setup.context.library.C_DestroyObject(setup.session, handle);
  } catch {
    // Session objects go with their session; nothing else can be done here.
  }
}

/** The same import as session objects (CKA_TOKEN=false) where the token takes them. */
function forProbe(keyImport: KeyImport, sessionObjects: boolean): KeyImport {
  if (!sessionObjects) return keyImport;
  const session = (template: Template): Template =>
    template.map((attribute) =>
      attribute.type === CKA.TOKEN ? { type: CKA.TOKEN, value: false } : attribute,
    );
  switch (keyImport.kind) {
    case 'secret':
      return { ...keyImport, template: session(keyImport.template) };
    case 'public':
      return { ...keyImport, publicTemplate: session(keyImport.publicTemplate) };
    case 'pair':
      return {
        ...keyImport,
        privateTemplate: session(keyImport.privateTemplate),
        publicTemplate: session(keyImport.publicTemplate),
      };
  }
}
