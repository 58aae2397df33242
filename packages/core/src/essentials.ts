/**
 * The part of core that has no configuration, registry or audit in it: errors and argument checks, the
 * vocabulary (key specs, algorithms, JOSE names) and the public-key encodings. It loads without zod. Not a public entry point:
 * the PKCS#11 package bundles it into its worker thread's file, so each worker thread starts without
 * loading the whole of core (about a tenth of a second per thread on the machines we measured).
 *
 * @example
 * ```ts
 * import { KeyswitchError, keySpecInfo } from '../../core/src/essentials.js';
 * ```
 * @packageDocumentation
 */
export * from './encoding/index.js';
export * from './errors.js';
export * from './lib/argument-shape.js';
export * from './vocabulary/algorithms.js';
export * from './vocabulary/jose-names.js';
export * from './vocabulary/key-specs.js';
