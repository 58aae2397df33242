import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { Keyswitch, loadConfig, type ProviderFactory } from '@keyswitch/core';
import type { CommandContext } from './context.js';

/**
 * The software HSM's factory, opening keystores read-only: without their lock, so that a command that
 * only reads (`keys inventory`) works while the application holds the keystore. Sections without a
 * keystore (in memory) are created as usual.
 */
async function readOnlySoftHsmFactory(): Promise<ProviderFactory> {
  const { providerFactory, SoftHsm } = await import('@keyswitch/soft-hsm');
  return {
    type: 'soft-hsm',
    parseConfig: (raw, path) => providerFactory.parseConfig(raw, path),
    async create(config, context) {
      const section = config as {
        keystore?: string;
        passphrase?: Parameters<typeof context.resolveSecret>[0];
      };
      if (section.keystore === undefined || context.environment === 'production')
        return providerFactory.create(providerFactory.parseConfig(section, context.path), context);
      const keystore = resolve(context.baseDir, section.keystore);
      const common = { name: context.name, audit: context.audit, environment: context.environment };
      // No keystore yet: no keys. An empty in-memory HSM says so (KEY_NOT_FOUND) without creating the file.
      if (!existsSync(keystore)) return SoftHsm.open(common);
      const passphrase =
        section.passphrase === undefined
          ? undefined
          : await context.resolveSecret(section.passphrase, 'passphrase');
      return SoftHsm.open({
        ...common,
        keystore,
        ...(passphrase === undefined ? {} : { passphrase }),
        readOnly: true,
      });
    },
  };
}

/**
 * A registry for commands that only read: the configuration's `audit` file is not opened (nothing is
 * appended, so its lock is not taken) and software-HSM keystores are opened read-only. Relative paths
 * still resolve against the configuration file's directory.
 *
 * @example
 * ```ts
 * const keyswitch = await openReadOnly(context);
 * ```
 * @throws CONFIG_INVALID naming the JSON path of the problem
 */
export async function openReadOnly(context: CommandContext): Promise<Keyswitch> {
  const { config, baseDir } = await loadConfig(context.configPath(), { env: context.env, cwd: context.cwd });
  const { audit: _audit, ...readable } = config;
  const usesSoftHsm = Object.values(config.providers).some((provider) => provider.type === 'soft-hsm');
  const { providerFactories } = context.io;
  const factories: Record<string, ProviderFactory<unknown>> = { ...providerFactories };
  if (usesSoftHsm && !factories['soft-hsm']) factories['soft-hsm'] = await readOnlySoftHsmFactory();
  return Keyswitch.fromConfig(readable, { env: context.env, cwd: baseDir, providerFactories: factories });
}
