import { packageBuild } from '../../tsup.base';

// shims: the worker executor resolves pkcs11js with import.meta.url, which the CJS build must shim.
export default packageBuild({ index: 'src/index.ts' }, { shims: true });
