import { afterAll, beforeAll, describe, it } from 'vitest';
import { conformance, randomTests } from '../src/index.js';
import { importIntoMinimal, MinimalProvider } from './support/minimal-provider.js';

// The suite's own check: a small correct provider passes everything it declares; what it does not
// declare (RSA_3072, P-384, SHA-384 algorithms…) is reported as skipped "not supported".
conformance({
  describe,
  it,
  beforeAll,
  afterAll,
  createProvider: () => new MinimalProvider(),
  importKey: importIntoMinimal,
});

// Without beforeAll/afterAll a group sets up on its first test and cleans up in a last test of its own.
describe('a group declared without hooks', () => {
  randomTests({ describe, it, createProvider: () => new MinimalProvider() });
});
