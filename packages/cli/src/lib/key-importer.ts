import { importRequestFor, type KeyImporter } from '@keyswitch/conformance';

/**
 * Imports the key material the suite generates through the backend's `importKey` (the contract's one
 * import request: PKCS#8 for private keys, raw bytes for secret keys), so the suite can also check what
 * needs both halves of a key.
 */
export const importThroughBackend: KeyImporter = (provider, request) =>
  provider.importKey(importRequestFor(request));
