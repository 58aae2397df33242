import { resolve } from 'node:path';
import {
  isKeyswitchError,
  KeyswitchError,
  type ProviderContext,
  type ProviderFactory,
  parseWithSchema,
} from '@keyswitch/core';
import { type SoftHsmConfig, softHsmConfigSchema } from './config.js';
import { SoftHsm } from './soft-hsm.js';

/**
 * How configuration creates software HSMs: the registry finds it by `type: "soft-hsm"`. The keystore
 * path is resolved against the configuration file's directory; the passphrase comes from its secret
 * reference; the provider is refused in production.
 *
 * @example
 * ```json
 * { "providers": { "dev": { "type": "soft-hsm", "keystore": ".keyswitch/dev.keystore",
 *                           "passphrase": { "env": "KEYSTORE_PASSPHRASE" } } } }
 * ```
 * ```ts
 * const config = providerFactory.parseConfig(raw, 'providers.dev');
 * const hsm = await providerFactory.create(config, context);
 * ```
 */
export const providerFactory: ProviderFactory<SoftHsmConfig> = {
  type: 'soft-hsm',

  parseConfig(raw: unknown, path: string): SoftHsmConfig {
    return parseWithSchema(softHsmConfigSchema, raw, path);
  },

  async create(config: SoftHsmConfig, context: ProviderContext): Promise<SoftHsm> {
    if (context.environment === 'production') {
      throw new KeyswitchError(
        'CONFIG_INVALID',
        'the software HSM is for development and tests; it refuses production',
        {
          provider: context.name,
          path: context.path,
        },
      );
    }
    const passphrase =
      config.passphrase === undefined
        ? undefined
        : await context.resolveSecret(config.passphrase, 'passphrase');
    try {
      return await SoftHsm.open({
        name: context.name,
        audit: context.audit,
        environment: context.environment,
        ...(config.keystore === undefined ? {} : { keystore: resolve(context.baseDir, config.keystore) }),
        ...(passphrase === undefined ? {} : { passphrase }),
      });
    } catch (error) {
      if (!isKeyswitchError(error, 'CONFIG_INVALID') || error.path !== undefined) throw error;
      throw new KeyswitchError('CONFIG_INVALID', error.detail, {
        provider: context.name,
        path: `${context.path}.keystore`,
        cause: error.cause,
      });
    }
  },
};
