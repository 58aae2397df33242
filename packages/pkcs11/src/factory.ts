import {
  isKeyswitchError,
  KeyswitchError,
  type ProviderContext,
  type ProviderFactory,
} from '@keyswitch/core';
import { type Pkcs11Config, parsePkcs11Config } from './config.js';
import { parsePkcs11Uri } from './key-uri.js';
import { Pkcs11Provider } from './pkcs11-provider.js';
import type { Pkcs11ProviderOptions } from './provider-options.js';

/**
 * The `pkcs11` provider type, for configuration files: the registry imports this package when a provider
 * has `"type": "pkcs11"`, validates its section with `parseConfig`, and calls `create` on first use.
 *
 * @example
 * ```json
 * "hsm": { "type": "pkcs11", "profile": "cloudhsm", "module": "/opt/cloudhsm/lib/libcloudhsm_pkcs11.so",
 *          "token": { "label": "hsm1" }, "pin": { "env": "HSM_PIN" }, "sessions": 16 }
 * ```
 */
export const providerFactory: ProviderFactory<Pkcs11Config> = {
  type: 'pkcs11',
  parseConfig: (raw, path) => parsePkcs11Config(raw, path),
  validateKeyRef: (ref) => {
    parsePkcs11Uri(ref);
  },
  async create(config: Pkcs11Config, context: ProviderContext) {
    const resolveValue = async (value: string | { env: string }, field: string) =>
      typeof value === 'string' ? value : (await context.resolveSecret(value, field)).reveal();
    const module = await resolveValue(config.module, 'module');
    const libraryParameters =
      config.libraryParameters === undefined
        ? undefined
        : await resolveValue(config.libraryParameters, 'libraryParameters');
    const pin = await context.resolveSecret(config.pin, 'pin');
    return openProvider(context.path, {
      module,
      profile: config.profile,
      token: config.token,
      pin,
      sessions: config.sessions,
      operationTimeoutMs: config.operationTimeoutMs,
      baseDir: context.baseDir,
      name: context.name,
      audit: context.audit,
      ...(libraryParameters === undefined ? {} : { libraryParameters }),
      ...(config.execution === undefined ? {} : { execution: config.execution }),
      ...(config.workerThreads === undefined ? {} : { workerThreads: config.workerThreads }),
    });
  },
};

/**
 * Opens the provider; a configuration error about one of its options (`module`) is given the path of the
 * provider's section (`providers.hsm.module`), so that it names the field to fix in the file.
 */
async function openProvider(path: string, options: Pkcs11ProviderOptions): Promise<Pkcs11Provider> {
  try {
    return await Pkcs11Provider.open(options);
  } catch (error) {
    if (
      isKeyswitchError(error, 'CONFIG_INVALID') &&
      error.path !== undefined &&
      !error.path.startsWith(`${path}.`)
    ) {
      throw new KeyswitchError('CONFIG_INVALID', error.detail, {
        path: `${path}.${error.path}`,
        cause: error.cause,
        retryable: false,
      });
    }
    throw error;
  }
}
