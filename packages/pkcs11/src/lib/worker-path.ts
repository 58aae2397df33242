import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { KeyswitchError } from '@keyswitch/core';

let resolved: string | undefined;

/**
 * The built worker module: next to this package's built entry (`dist/pkcs11-worker.js`, or `.cjs` from
 * the CommonJS build), or, when the package runs from its TypeScript sources (its own tests), in its
 * `dist` folder.
 *
 * @throws CONFIG_INVALID when it is not there (the package was not built)
 * @example
 * ```ts
 * const worker = new Worker(workerPath(), { workerData });
 * ```
 */
export function workerPath(): string {
  if (resolved !== undefined) return resolved;
  const here = import.meta.url;
  const own = here.endsWith('.cjs') ? 'pkcs11-worker.cjs' : 'pkcs11-worker.js';
  const candidates = [new URL(`./${own}`, here), new URL('../../dist/pkcs11-worker.js', here)];
  for (const candidate of candidates) {
    const path = fileURLToPath(candidate);
    if (existsSync(path)) {
      resolved = path;
      return path;
    }
  }
  throw new KeyswitchError(
    'CONFIG_INVALID',
    `the PKCS#11 worker module is missing (looked for ${candidates.map((candidate) => fileURLToPath(candidate)).join(' and ')}); ` +
      'reinstall @keyswitch/pkcs11, or build it ("pnpm build") when running from its sources',
    { retryable: false },
  );
}
