import { withArticle } from '../../english/with-article.js';
import { KeyswitchError } from '../../errors.js';
import { describeType } from '../../lib/checks.js';
import {
  isKeySpec,
  isKeyUsage,
  type KeySpec,
  type KeyUsage,
  keySpecInfo,
} from '../../vocabulary/key-specs.js';
import type { Capabilities, CreateKeyRequest, ImportKeyRequest } from '../contract.js';

/**
 * Throws INVALID_INPUT unless `label` is absent or 1 to 250 characters of letters, digits and `._/:-`.
 *
 * @example
 * ```ts
 * assertLabel('acs-signing'); // passes
 * assertLabel('no spaces'); // throws INVALID_INPUT
 * ```
 */
export function assertLabel(label: unknown): void {
  if (label !== undefined && (typeof label !== 'string' || !/^[\w./:-]{1,250}$/.test(label))) {
    throw new KeyswitchError(
      'INVALID_INPUT',
      'label must be 1 to 250 characters of letters, digits and ._/:-',
    );
  }
}

/**
 * Throws INVALID_INPUT unless a create or import request's description (at most 8,192 characters) and
 * tags (at most 50; keys of 1 to 128 characters, string values of at most 256) are well-formed.
 *
 * @example
 * ```ts
 * assertDescriptionAndTags({ spec: 'AES_256', usage: 'ENCRYPT_DECRYPT', tags: { team: 'acs' } });
 * ```
 */
export function assertDescriptionAndTags(request: CreateKeyRequest | ImportKeyRequest): void {
  if (
    request.description !== undefined &&
    (typeof request.description !== 'string' || request.description.length > 8192)
  ) {
    throw new KeyswitchError('INVALID_INPUT', 'description must be a string of at most 8,192 characters');
  }
  if (request.tags === undefined) return;
  if (typeof request.tags !== 'object' || request.tags === null || Array.isArray(request.tags)) {
    throw new KeyswitchError(
      'INVALID_INPUT',
      `tags must be an object of strings, got ${describeType(request.tags)}`,
    );
  }
  const entries = Object.entries(request.tags);
  if (entries.length > 50)
    throw new KeyswitchError('INVALID_INPUT', `at most 50 tags, got ${entries.length}`);
  for (const [key, value] of entries) {
    if (key.length < 1 || key.length > 128) {
      throw new KeyswitchError('INVALID_INPUT', 'tag keys must be 1 to 128 characters');
    }
    if (typeof value !== 'string' || value.length > 256) {
      throw new KeyswitchError(
        'INVALID_INPUT',
        `tag "${key}" must have a string value of at most 256 characters`,
      );
    }
  }
}

/**
 * Throws INVALID_INPUT unless a key of `spec` may have `usage` (an AES key cannot sign).
 *
 * @example
 * ```ts
 * assertSpecAllowsUsage('ECC_NIST_P256', 'SIGN_VERIFY'); // passes
 * assertSpecAllowsUsage('AES_256', 'SIGN_VERIFY'); // throws INVALID_INPUT
 * ```
 */
export function assertSpecAllowsUsage(spec: KeySpec, usage: KeyUsage): void {
  const allowed = keySpecInfo(spec).usages;
  if (!allowed.includes(usage)) {
    throw new KeyswitchError(
      'INVALID_INPUT',
      `${withArticle(spec)} key cannot have usage ${usage}; allowed: ${allowed.join(', ')}`,
    );
  }
}

/**
 * Checks a create request on its own, before the backend is asked: a known spec and usage that go
 * together, and a well-formed label, description and tags.
 *
 * @throws INVALID_INPUT naming what is wrong
 *
 * @example
 * ```ts
 * assertCreateKeyRequest({ spec: 'ECC_NIST_P256', usage: 'SIGN_VERIFY', label: 'acs-signing' });
 * ```
 */
export function assertCreateKeyRequest(request: CreateKeyRequest): void {
  if (!isKeySpec(request?.spec)) {
    throw new KeyswitchError('INVALID_INPUT', `unknown key spec ${JSON.stringify(request?.spec)}`);
  }
  if (!isKeyUsage(request.usage)) {
    throw new KeyswitchError('INVALID_INPUT', `unknown key usage ${JSON.stringify(request.usage)}`);
  }
  assertSpecAllowsUsage(request.spec, request.usage);
  assertLabel(request.label);
  assertDescriptionAndTags(request);
}

/**
 * Throws UNSUPPORTED_ALGORITHM unless the manifest says the backend creates `spec` keys for `usage`.
 *
 * @example
 * ```ts
 * assertBackendCreates(await provider.capabilities(), 'RSA_4096', 'SIGN_VERIFY');
 * ```
 */
export function assertBackendCreates(capabilities: Capabilities, spec: KeySpec, usage: KeyUsage): void {
  const support = capabilities.keySpecs[spec];
  if (!support?.create || !support.usages.includes(usage)) {
    throw new KeyswitchError('UNSUPPORTED_ALGORITHM', `this backend cannot create ${spec} keys for ${usage}`);
  }
}

/**
 * Checks an import request's usage, label, description and tags, before its key material is read.
 *
 * @throws INVALID_INPUT naming what is wrong
 *
 * @example
 * ```ts
 * assertImportKeyRequest({ usage: 'SIGN_VERIFY', label: 'acs-signing', pem });
 * ```
 */
export function assertImportKeyRequest(request: ImportKeyRequest): void {
  if (!isKeyUsage(request.usage)) {
    throw new KeyswitchError('INVALID_INPUT', `unknown key usage ${JSON.stringify(request.usage)}`);
  }
  assertLabel(request.label);
  assertDescriptionAndTags(request);
}
