import { conformance, type KeyImporter } from '@keyswitch/conformance';
import { afterAll, beforeAll, describe, it } from 'vitest';
import type { Pkcs11Provider } from '../../src/index.js';
import { importKey } from './import-key.js';
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
  // Keeps the module initialized between groups (each group opens and closes its own provider).
  let anchor: Pkcs11Provider | undefined;
  beforeAll(async () => {
    anchor = await openTarget(which);
  });
  afterAll(async () => {
    await anchor?.close();
    (tokens as TestTokens).remove();
  });
  const importer: KeyImporter = (provider, request) =>
    importKey(provider as Pkcs11Provider, which.module, request);
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
