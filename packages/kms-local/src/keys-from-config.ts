import {
  impliedUsage,
  type KeySpec,
  type KeyswitchConfigInput,
  type KeyUsage,
  loadConfig,
} from '@keyswitch/core';

/**
 * A key for kms-local to create at start, under an alias.
 *
 * @example
 * ```ts
 * await startKmsLocal({ keys: [{ alias: 'acs-signing', spec: 'ECC_NIST_P256', usage: 'SIGN_VERIFY' }] });
 * ```
 */
export interface KmsLocalKeySeed {
  /** The alias (`alias/acs-signing` or `acs-signing`); skipped when it already exists. */
  readonly alias: string;
  readonly spec: KeySpec;
  /** Required when the spec allows several usages (RSA, EC). */
  readonly usage?: KeyUsage;
  readonly description?: string;
}

/**
 * The keys a keyswitch configuration expects to find in AWS KMS under aliases: every key whose provider
 * is of type `aws-kms` and whose `ref` is an alias name. Give them to `startKmsLocal({ keys })` so that an
 * application configured for KMS finds its keys in kms-local.
 *
 * @throws CONFIG_INVALID when the configuration cannot be read or is invalid
 *
 * @example
 * ```ts
 * const keys = await kmsLocalKeysFromConfig('examples/configs/kms-local.json');
 * const server = await startKmsLocal({ port: 4599, keys });
 * ```
 */
export async function kmsLocalKeysFromConfig(
  source: string | KeyswitchConfigInput,
  options: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Promise<KmsLocalKeySeed[]> {
  const { config } = await loadConfig(source, options);
  const seeds: KmsLocalKeySeed[] = [];
  for (const [name, key] of Object.entries(config.keys)) {
    if (config.providers[key.provider]?.type !== 'aws-kms' || !key.ref.startsWith('alias/')) continue;
    const usage = key.usage ?? impliedUsage(key.spec, key.algorithm);
    seeds.push({
      alias: key.ref,
      spec: key.spec,
      ...(usage === undefined ? {} : { usage }),
      description: key.description ?? `keyswitch key ${name}`,
    });
  }
  return seeds;
}
