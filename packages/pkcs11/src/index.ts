/**
 * The keyswitch PKCS#11 backend: AWS CloudHSM, on-premises HSMs, SoftHSM2 and NSS softokn through
 * pkcs11js, with keys addressed by RFC 7512 `pkcs11:` URIs.
 *
 * @packageDocumentation
 */
export {
  type Pkcs11Config,
  type Pkcs11ConfigInput,
  parsePkcs11Config,
  pkcs11ConfigSchema,
  pkcs11OptionsSchema,
} from './config.js';
export { providerFactory } from './factory.js';
export { formatPkcs11Uri, type Pkcs11ObjectType, type Pkcs11Uri, parsePkcs11Uri } from './key-uri.js';
export type { TokenSelector } from './lib/token.js';
export { Pkcs11Provider } from './pkcs11-provider.js';
export { PKCS11_PROFILES, type Pkcs11Profile, type Pkcs11ProfileName, pkcs11Profile } from './profiles.js';
export type { Pkcs11ProviderOptions, Pkcs11TokenInfo } from './provider-options.js';
