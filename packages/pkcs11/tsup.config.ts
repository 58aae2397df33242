import { packageBuild } from '../../tsup.base';

// The worker thread's module is an entry of its own, next to index (dist/pkcs11-worker.js and .cjs).
// shims: the provider finds it (and tests' loadedModule finds pkcs11js) through import.meta.url, which
// the CJS build must shim.
export default packageBuild(
  { index: 'src/index.ts', 'pkcs11-worker': 'src/pkcs11-worker.ts' },
  { shims: true },
);
