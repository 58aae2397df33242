import type { AuditBus } from '../audit/audit-bus.js';
import type { Secret, SecretReference } from '../config/secrets.js';
import type { KeyProvider } from './key-provider.js';

/** What the registry gives a backend factory besides its own configuration section. */
export interface ProviderContext {
  /** The provider's name in the configuration. */
  readonly name: string;
  /** The configuration's `environment` (`production`, `staging`, `development`, `test`). */
  readonly environment: string;
  /** The directory relative paths in the configuration are resolved against (the config file's). */
  readonly baseDir: string;
  /** The JSON path of this provider's section, such as `providers.hsm`, for error messages. */
  readonly path: string;
  /** Reads a secret reference from this provider's section; `field` is its key, for error messages. */
  readonly resolveSecret: (reference: SecretReference, field: string) => Promise<Secret>;
  /** The registry's audit bus: pass it to the provider so its operations are audited. */
  readonly audit: AuditBus;
}

/**
 * How a backend package plugs into configuration: it exports one of these as `providerFactory`. The
 * registry imports the package named by the config's `type` only when that type is configured.
 *
 * @example
 * ```ts
 * export const providerFactory: ProviderFactory<SoftHsmConfig> = {
 *   type: 'soft-hsm',
 *   parseConfig: (raw, path) => parseWithSchema(softHsmConfigSchema, raw, path),
 *   create: (config, context) => SoftHsm.open({ keystore: config.keystore, name: context.name, audit: context.audit }),
 * };
 * ```
 */
export interface ProviderFactory<Config = unknown> {
  /** The `type` this factory answers to. */
  readonly type: string;
  /** Validates the provider's configuration section; throws CONFIG_INVALID with the JSON path. */
  parseConfig(raw: unknown, path: string): Config;
  /**
   * Checks a configured key reference's syntax at load time (a `pkcs11:` URI, a KMS ARN), so a malformed
   * `keys.<name>.ref` is CONFIG_INVALID before any backend is contacted. Throw any KeyswitchError; the
   * registry reports it as CONFIG_INVALID at the key's `ref` path. Optional.
   */
  validateKeyRef?(ref: string): void;
  /** Creates the provider. Called on first use of a key bound to it. */
  create(config: Config, context: ProviderContext): Promise<KeyProvider>;
}
