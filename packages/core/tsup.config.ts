import { packageBuild } from '../../tsup.base';

export default packageBuild(
  { index: 'src/index.ts' },
  {
    // Which build this is, for the backend loader: the CommonJS build loads backends with require, so a
    // CommonJS application gets one copy of core (see src/registry/load-provider-factory.ts).
    esbuildOptions(options, { format }) {
      options.define = {
        ...options.define,
        __KEYSWITCH_COMMONJS_BUILD__: format === 'cjs' ? 'true' : 'false',
      };
    },
  },
);
