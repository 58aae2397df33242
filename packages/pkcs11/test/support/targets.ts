import { Pkcs11Provider, type Pkcs11ProviderOptions } from '../../src/index.js';
import type { TestTokens } from './tokens.js';

/** The tokens the tests run on. */
export type TargetName = 'softhsm2' | 'nss' | 'softhsm2-p11kit';

/** How to reach one of the test tokens, from the environment scripts/test-tokens.sh prints. */
export interface Target {
  readonly name: TargetName;
  readonly title: string;
  readonly module: string;
  readonly options: Pkcs11ProviderOptions;
}

/** The provider options for a test token. */
export function target(name: TargetName, tokens: TestTokens): Target {
  const env = tokens.env;
  const required = (variable: string) => {
    const value = env[variable];
    if (value === undefined) throw new Error(`scripts/test-tokens.sh did not print ${variable}`);
    return value;
  };
  if (name === 'softhsm2-p11kit') {
    // The SoftHSM2 token served by `p11-kit server` (see p11-kit.ts), reached through p11-kit's client.
    const module = required('KEYSWITCH_P11KIT_CLIENT_MODULE');
    return {
      name,
      title: 'SoftHSM2 over p11-kit server',
      module,
      options: {
        module,
        profile: 'softhsm',
        token: { label: required('KEYSWITCH_SOFTHSM2_TOKEN') },
        pin: required('KEYSWITCH_SOFTHSM2_PIN'),
      },
    };
  }
  if (name === 'softhsm2') {
    const module = required('KEYSWITCH_SOFTHSM2_MODULE');
    return {
      name,
      title: 'SoftHSM2',
      module,
      options: {
        module,
        profile: 'softhsm',
        token: { label: required('KEYSWITCH_SOFTHSM2_TOKEN') },
        pin: required('KEYSWITCH_SOFTHSM2_PIN'),
      },
    };
  }
  const module = required('KEYSWITCH_NSS_MODULE');
  return {
    name,
    title: 'NSS softokn',
    module,
    options: {
      module,
      profile: 'nss',
      token: { label: required('KEYSWITCH_NSS_TOKEN') },
      pin: required('KEYSWITCH_NSS_PIN'),
      libraryParameters: required('KEYSWITCH_NSS_LIBRARY_PARAMETERS'),
    },
  };
}

/** Opens a provider on a test token, with optional overrides. */
export function openTarget(
  which: Target,
  overrides: Partial<Pkcs11ProviderOptions> = {},
): Promise<Pkcs11Provider> {
  return Pkcs11Provider.open({ ...which.options, ...overrides });
}
