import { KeyswitchError } from '../../errors.js';
import type { Capabilities, ImportKeyRequest } from '../contract.js';
import type { ImportKeyInput } from '../hook-inputs.js';
import { assertSpecAllowsUsage } from '../lib/key-request-checks.js';
import { unsupported } from '../lib/unsupported.js';
import { readImportRequest } from './read-import-request.js';

/**
 * Reads an import request's key material and checks it against the key's usage and the backend's
 * manifest: what the import hook receives.
 *
 * @throws INVALID_INPUT for malformed material or a spec and usage that do not go together;
 * UNSUPPORTED_OPERATION for a kind of key the backend does not import; UNSUPPORTED_ALGORITHM for a spec
 * it cannot hold
 *
 * @example
 * ```ts
 * const input = await importInputFor({ usage: 'SIGN_VERIFY', label: 'acs-signing', pem }, capabilities);
 * ```
 */
export async function importInputFor(
  request: ImportKeyRequest,
  capabilities: Capabilities,
): Promise<ImportKeyInput> {
  const { kind, spec, key } = await readImportRequest(request);
  const kinds = capabilities.importKinds ?? ['private', 'secret'];
  if (!kinds.includes(kind)) throw unsupported(`importing ${kind} keys`);
  assertSpecAllowsUsage(spec, request.usage);
  if (kind === 'public' && request.usage === 'KEY_AGREEMENT') {
    throw new KeyswitchError('INVALID_INPUT', 'a public key alone cannot be used for key agreement');
  }
  if (!capabilities.keySpecs[spec]?.usages.includes(request.usage)) {
    throw new KeyswitchError(
      'UNSUPPORTED_ALGORITHM',
      `this backend cannot hold ${spec} keys for ${request.usage}`,
    );
  }
  return {
    kind,
    spec,
    usage: request.usage,
    key,
    ...(request.label === undefined ? {} : { label: request.label }),
    ...(request.description === undefined ? {} : { description: request.description }),
    ...(request.tags === undefined ? {} : { tags: request.tags }),
  };
}
