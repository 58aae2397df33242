import { randomBytes } from 'node:crypto';
import { type ImportKeyInput, isKeyswitchError, type KeyDescription, KeyswitchError } from '@keyswitch/core';
import { isDeadlineError } from './deadline-error.js';
import type { ImportSettlement } from './import-objects.js';
import { importTemplates, type KeyImport, wipeKeyImport } from './import-templates.js';
import { outcomeUnknown } from './key-creation.js';
import type { ImportFindings } from './probe-imports.js';
import type { ResolvedKey } from './resolved-key.js';
import type { SessionRunner } from './session-runner.js';

/**
 * What {@link importOnToken} needs from the provider: its session runner, what the probe found about
 * imports, and a way to describe the key written.
 *
 * @example
 * ```ts
 * const parts: ImportParts = { runner, imports: probe.imports, describe: (key) => describeResolvedKey(token, key, caps) };
 * ```
 */
export interface ImportParts {
  readonly runner: SessionRunner;
  readonly imports: ImportFindings;
  readonly describe: (key: ResolvedKey) => KeyDescription;
}

/**
 * Imports key material the core has read and checked into the token, through C_CreateObject on a worker
 * thread, with keyswitch's creation templates in the style the probe found the token takes for imports,
 * a random unique CKA_ID and the requested label. Never retried once the write was sent: when its outcome
 * is not known (the session or token was lost under it), the objects with its CKA_ID are looked up on
 * another session: the whole key is adopted, part of a pair is removed and the failure reported, nothing
 * at all means the failure is reported as it was. When the write may still be running (its deadline
 * passed), the failure is reported, not retryable, with the CKA_ID to look for.
 *
 * @throws KEY_EXISTS for a label in use; UNSUPPORTED_ALGORITHM when the token refuses the template;
 * UNAVAILABLE when the token cannot be reached (not retryable when something may have been written)
 * @example
 * ```ts
 * const description = await importOnToken(parts, input);
 * ```
 */
export async function importOnToken(parts: ImportParts, input: ImportKeyInput): Promise<KeyDescription> {
  const { runner } = parts;
  const id = randomBytes(16);
  const keyImport = importTemplates(input, id, input.label, parts.imports.templates);
  let sent = false;
  try {
    return await runner.withSession(
      'importKey',
      async (session) => {
        sent = true;
        const key = await runner.creating(session, () =>
          runner.onToken(session, 'C_CreateObject', { kind: 'importKey', keyImport, label: input.label }),
        );
        const description = parts.describe(key);
        runner.remember(session, description.ref, key);
        return description;
      },
      // Never retried once the write was sent: never import a key twice.
      { retry: () => !sent },
    );
  } catch (error) {
    if (!sent || !outcomeUnknown(error)) throw error;
    return settle(parts, keyImport, error);
  } finally {
    wipeKeyImport(keyImport);
  }
}

async function settle(
  parts: ImportParts,
  keyImport: KeyImport,
  error: KeyswitchError,
): Promise<KeyDescription> {
  const hex = keyImport.id.toString('hex');
  const unknown = (cause: unknown) =>
    new KeyswitchError(
      'UNAVAILABLE',
      `importing the key failed and whether the token holds any of it is not known (${firstLine(cause)}); ` +
        `look for objects with CKA_ID ${hex} and remove them (pkcs11-tool --delete-object --id ${hex}) before importing again`,
      { retryable: false, cause },
    );
  // The write may still be running: nothing may be looked up or removed under it.
  if (isDeadlineError(error)) throw unknown(error);
  let settled: ImportSettlement;
  try {
    settled = await parts.runner.withSession('importKey', (session) =>
      parts.runner.searching(() =>
        parts.runner.onToken(session, 'C_FindObjects', {
          kind: 'settleImport',
          id: keyImport.id,
          importKind: keyImport.kind,
        }),
      ),
    );
  } catch (lookup) {
    // A part that could not be removed is reported as such (with its CKA_ID); anything else as unknown.
    throw isKeyswitchError(lookup, 'UNAVAILABLE') && !lookup.retryable ? lookup : unknown(error);
  }
  if (settled.state === 'complete') return parts.describe(settled.key);
  if (settled.state === 'removed') {
    throw new KeyswitchError(
      error.code,
      `${error.detail}; the part of the key written before the failure was removed, so nothing was imported`,
      { cause: error, retryable: error.retryable },
    );
  }
  throw error;
}

function firstLine(error: unknown): string {
  return error instanceof Error ? (error.message.split('\n')[0] ?? error.name) : String(error);
}
