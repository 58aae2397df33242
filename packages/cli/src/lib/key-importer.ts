import type { KeyImporter } from '@keyswitch/conformance';
import type { KeyDescription } from '@keyswitch/core';

type Importing = { importKey(request: Record<string, unknown>): Promise<KeyDescription> };

/**
 * Imports the key material the suite generates through the backend's own `importKey` (the software
 * HSM's: PKCS#8 PEM for private keys, raw bytes for secret keys), so the suite can also check what needs
 * both halves of a key.
 */
export const importThroughBackend: KeyImporter = (provider, request) => {
  const material =
    request.key.type === 'secret'
      ? { raw: new Uint8Array(request.key.export()) }
      : { pem: request.key.export({ type: 'pkcs8', format: 'pem' }) as string };
  return (provider as unknown as Importing).importKey({
    label: request.label,
    usage: request.usage,
    spec: request.spec,
    ...material,
  });
};
