import { type KeyDescription, KeyswitchError } from '@keyswitch/core';
import { formatPkcs11Uri } from '../key-uri.js';
import { CKA, CKO } from './ck.js';
import { ckrName } from './ckr.js';
import { isDeadlineError } from './deadline-error.js';
import { readKey } from './key-lookup.js';
import type { KeyGeneration } from './key-templates.js';
import { findObjects, readFlagsPresent } from './object-search.js';
import type { ResolvedKey } from './resolved-key.js';
import type { Handle } from './shared-module.js';
import type { TokenContext } from './token-context.js';

/**
 * Refuses a label another key on the token already has: labels name keys, so they must be unique.
 *
 * @throws KEY_EXISTS when a private, secret or public key has the label
 * @example
 * ```ts
 * assertLabelFree(context, session, 'acs-signing');
 * ```
 */
export function assertLabelFree(context: TokenContext, session: Handle, label: string): void {
  for (const objectClass of [CKO.PRIVATE_KEY, CKO.SECRET_KEY, CKO.PUBLIC_KEY]) {
    const found = findObjects(context.library, session, [
      { type: CKA.CLASS, value: objectClass },
      { type: CKA.LABEL, value: label },
    ]);
    if (found.length > 0) {
      throw new KeyswitchError(
        'KEY_EXISTS',
        `a key labelled "${label}" already exists on token "${context.token.label}"; labels name keys, so they must be unique`,
      );
    }
  }
}

/**
 * Generates a key on a lent session. On SoftHSM2 (the `softhsm` profile) a generation that fails with
 * CKR_GENERAL_ERROR created no key and is tried again (twice at most): its file store can fail it when
 * another thread touches the store at that moment. On other profiles it is reported, not retried. On SoftHSM2 a P-384 pair generation under full test load has also failed once with
 * CKR_TEMPLATE_INCONSISTENT for a template that succeeds every other time, which we take to be the same
 * race, so on that profile that code is retried too; a template that is really refused fails every try.
 *
 * @throws UNSUPPORTED_ALGORITHM when the token refuses the template
 * @example
 * ```ts
 * const key = generateKey(context, session, keyGeneration('ECC_NIST_P256', 'SIGN_VERIFY', id, label));
 * ```
 */
export function generateKey(context: TokenContext, session: Handle, generation: KeyGeneration): ResolvedKey {
  const { library, profile } = context;
  for (let attempt = 0; ; attempt += 1) {
    try {
      if (generation.kind === 'secret') {
        const handle = library.C_GenerateKey(session, generation.mechanism, generation.template);
        narrowUsages(context, session, handle, generation.narrow.primary);
        return readKey(context, session, 'secret', handle);
      }
      const pair = library.C_GenerateKeyPair(
        session,
        generation.mechanism,
        generation.publicTemplate,
        generation.privateTemplate,
      );
      narrowUsages(context, session, pair.privateKey, generation.narrow.primary);
      narrowUsages(context, session, pair.publicKey, generation.narrow.public);
      return readKey(context, session, 'pair', pair.privateKey, pair.publicKey);
    } catch (error) {
      if (attempt < 2 && isRacedGeneration(ckrName(error), profile.retriesRacedGeneration)) continue;
      throw templateRefused(error);
    }
  }
}

/**
 * Runs key creations one at a time per label, so that the label-uniqueness check and the generation of
 * two creations with one label never interleave.
 *
 * @example
 * ```ts
 * const queue = new PerLabelQueue();
 * const created = queue.run('acs-signing', () => createKey(request));
 * ```
 */
export class PerLabelQueue {
  readonly #running = new Map<string, Promise<unknown>>();

  /** Runs `task` after every earlier task with `label` has settled. */
  run<T>(label: string, task: () => Promise<T>): Promise<T> {
    const previous = this.#running.get(label) ?? Promise.resolve();
    const created = previous.then(task);
    const settled = created.then(
      () => undefined,
      () => undefined,
    );
    this.#running.set(label, settled);
    void settled.then(() => {
      if (this.#running.get(label) === settled) this.#running.delete(label);
    });
    return created;
  }
}

/**
 * A template refusal (CKR_TEMPLATE_*, CKR_ATTRIBUTE_*) as UNSUPPORTED_ALGORITHM; any other error as it is.
 *
 * @example
 * ```ts
 * throw templateRefused(error);
 * ```
 */
export function templateRefused(error: unknown): unknown {
  const name = ckrName(error);
  if (
    name === 'CKR_TEMPLATE_INCONSISTENT' ||
    name === 'CKR_TEMPLATE_INCOMPLETE' ||
    name === 'CKR_ATTRIBUTE_VALUE_INVALID' ||
    name === 'CKR_ATTRIBUTE_TYPE_INVALID'
  ) {
    return new KeyswitchError(
      'UNSUPPORTED_ALGORITHM',
      `the token refused keyswitch's key template (${name})`,
      {
        cause: error,
      },
    );
  }
  return error;
}

/** Whether a failed key generation may be the token's store racing another thread, and worth one more try. */
function isRacedGeneration(code: string | undefined, retriesRacedGeneration: boolean): boolean {
  // Only SoftHSM2's store races this way; elsewhere a failed generation is reported, never retried blindly.
  return retriesRacedGeneration && (code === 'CKR_GENERAL_ERROR' || code === 'CKR_TEMPLATE_INCONSISTENT');
}

/**
 * Whether a failed creation may still have created the key: the token or session was lost under it, or
 * its deadline passed while it ran.
 *
 * @example
 * ```ts
 * if (generating && outcomeUnknown(error)) return adoptOrReport(label, id, error, describe);
 * ```
 */
export function outcomeUnknown(error: unknown): error is KeyswitchError {
  return error instanceof KeyswitchError && (error.code === 'UNAVAILABLE' || error.code === 'INTERNAL');
}

/**
 * After a key generation whose outcome is unknown: looks the key up by the unique CKA_ID it was given
 * and adopts it when the token has it; when the token does not, rethrows (nothing was created, so trying
 * again is safe). When the generation may still be running (its deadline passed), or the token cannot be
 * asked, the failure is reported with that CKA_ID and is not retryable: a blind retry could create the
 * key twice.
 *
 * @throws the original error when no key was created; UNAVAILABLE (not retryable) naming the CKA_ID when
 * that is not known
 * @example
 * ```ts
 * return adoptOrReport('keyswitch', id, error, (ref) => provider.describeKey(ref));
 * ```
 */
export async function adoptOrReport(
  tokenLabel: string,
  id: Buffer,
  error: KeyswitchError,
  describe: (ref: string) => Promise<KeyDescription>,
): Promise<KeyDescription> {
  const ref = formatPkcs11Uri({ token: tokenLabel, id, type: 'private' });
  const unknown = (cause: unknown) =>
    new KeyswitchError(
      'UNAVAILABLE',
      `creating the key failed and whether the token created it is not known (${firstLine(cause)}); ` +
        `if it did, the key has CKA_ID ${id.toString('hex')} (${ref}): look it up before creating the key again`,
      { retryable: false, cause },
    );
  if (isDeadlineError(error)) throw unknown(error);
  for (const type of ['private', 'secret-key'] as const) {
    try {
      return await describe(formatPkcs11Uri({ token: tokenLabel, id, type }));
    } catch (lookup) {
      if (!(lookup instanceof KeyswitchError && lookup.code === 'KEY_NOT_FOUND')) throw unknown(error);
    }
  }
  throw error;
}

function firstLine(error: unknown): string {
  return error instanceof Error ? (error.message.split('\n')[0] ?? error.name) : String(error);
}

/**
 * Clears the usage attributes a template could not set false (a token that refuses explicit false) but
 * the token's defaults set true, so the new key carries only its usage. Where the token will not change
 * them either, the key keeps them.
 *
 * @example
 * ```ts
 * narrowUsages(context, session, handle, generation.narrow.primary);
 * ```
 */
export function narrowUsages(
  context: TokenContext,
  session: Handle,
  handle: Handle,
  attributes: readonly number[],
): void {
  if (attributes.length === 0) return;
  const { library } = context;
  for (const [type, value] of readFlagsPresent(library, session, handle, attributes)) {
    if (!value) continue;
    try {
      library.C_SetAttributeValue(session, handle, [{ type, value: false }]);
    } catch {
      // The token keeps its default (no C_SetAttributeValue, or not on this attribute).
    }
  }
}
