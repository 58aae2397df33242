/**
 * `@keyswitch/soft-hsm`: a software HSM on node:crypto implementing the whole keyswitch provider
 * contract, in memory or on an encrypted keystore file. For development and tests; it refuses production.
 *
 * @packageDocumentation
 */

/** The import request every backend takes; re-exported from `@keyswitch/core`. */
export type { ImportKeyRequest } from '@keyswitch/core';
export { softHsmCapabilities } from './capabilities.js';
export { type SoftHsmConfig, softHsmConfigSchema } from './config.js';
export { providerFactory } from './provider-factory.js';
export { SoftHsm, type SoftHsmOptions } from './soft-hsm.js';
