import { defineConfig, type Options } from 'tsup';

/** The build every keyswitch package shares: ESM and CJS, declarations, Node 20. */
export function packageBuild(entry: Record<string, string> | string[], extra: Options = {}) {
  return defineConfig({
    entry,
    format: ['esm', 'cjs'],
    dts: true,
    clean: true,
    sourcemap: true,
    target: 'node20',
    platform: 'node',
    splitting: false,
    keepNames: true,
    ...extra,
  });
}
