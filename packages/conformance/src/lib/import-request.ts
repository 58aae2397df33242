import type { ImportKeyRequest } from '@keyswitch/core';
import type { KeyImportRequest } from '../options.js';

/**
 * The core's {@link ImportKeyRequest} for key material the suite generated: PKCS#8 DER for private keys,
 * raw bytes for secret keys. What an importer passes to `provider.importKey`.
 *
 * @example
 * ```ts
 * const importKey: KeyImporter = (provider, request) => provider.importKey(importRequestFor(request));
 * ```
 */
export function importRequestFor(request: KeyImportRequest): ImportKeyRequest {
  const { spec, usage, key, label } = request;
  return key.type === 'secret'
    ? { label, usage, spec, raw: new Uint8Array(key.export()) }
    : { label, usage, spec, pkcs8: new Uint8Array(key.export({ format: 'der', type: 'pkcs8' })) };
}
