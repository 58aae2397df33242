import { fileURLToPath } from 'node:url';
import { packageBuild } from '../../tsup.base';

// The worker thread's module is an entry of its own, next to index (dist/pkcs11-worker.js and .cjs).
// shims: the provider finds it (and tests' loadedModule finds pkcs11js) through import.meta.url, which
// the CJS build must shim.
//
// The worker's file carries the part of core it uses (errors, vocabulary, encodings: core's
// src/essentials.ts) instead of importing @keyswitch/core, so a worker thread starts without loading all
// of core (zod, the registry, audit). Errors cross threads as plain shapes, rebuilt by the main thread's
// core, so the worker's own copy of the error class never meets the application's.
const essentials = fileURLToPath(new URL('../core/src/essentials.ts', import.meta.url));

export default [
  packageBuild({ index: 'src/index.ts' }, { shims: true }),
  packageBuild(
    { 'pkcs11-worker': 'src/pkcs11-worker.ts' },
    {
      shims: true,
      clean: false,
      noExternal: ['@keyswitch/core', 'asn1js', 'pvtsutils', 'pvutils', 'tslib'],
      esbuildOptions(options) {
        options.alias = { ...options.alias, '@keyswitch/core': essentials };
      },
    },
  ),
];
