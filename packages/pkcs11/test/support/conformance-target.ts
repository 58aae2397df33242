import { conformance, importRequestFor, type KeyImporter } from '@keyswitch/conformance';
import { afterAll, beforeAll, describe, it } from 'vitest';
import type { Pkcs11Provider } from '../../src/index.js';
import { p11KitServer } from './p11-kit.js';
import { openTarget, type TargetName, target } from './targets.js';
import { createTestTokens, type TestTokens } from './tokens.js';

/**
 * Runs the whole conformance suite against one test token, made by scripts/test-tokens.sh for this file.
 * Without tokens it skips loudly (and fails under CI=true, in createTestTokens).
 */
export function conformanceOn(name: TargetName): void {
  const tokens = createTestTokens();
  if ('skip' in tokens) {
    describe.skip(`conformance on ${name}: ${tokens.skip}`, () => {
      it('needs the test tokens', () => undefined);
    });
    return;
  }
  const which = target(name, tokens as TestTokens);
  // The remote token: SoftHSM2 served by p11-kit server for this file.
  const server = name === 'softhsm2-p11kit' ? p11KitServer(tokens as TestTokens) : undefined;
  // Keeps the module initialized between groups (each group opens and closes its own provider).
  let anchor: Pkcs11Provider | undefined;
  beforeAll(async () => {
    await server?.start();
    anchor = await openTarget(which);
  });
  afterAll(async () => {
    await anchor?.close();
    await server?.close();
    (tokens as TestTokens).remove();
  });
  // Imports go through the contract: core's checks and audit, then C_CreateObject on the provider's
  // worker threads and sessions (over p11-kit too: the same connection the provider uses).
  const importer: KeyImporter = (provider, request) => provider.importKey(importRequestFor(request));
  conformance({
    describe,
    it,
    beforeAll,
    afterAll,
    createProvider: () => openTarget(which),
    importKey: importer,
    missingKeyRef: 'pkcs11:object=keyswitch-conformance-missing;type=private',
  });
}
