import type { KeyProvider } from '@keyswitch/core';

/** The suffix of the alias file kept beside a software-HSM keystore when none is named. */
export const ALIAS_FILE_SUFFIX = '.aliases.json';

/**
 * Where kms-local keeps its aliases: the file named, none when `false`, and otherwise, for a provider
 * whose keys outlive the process in a keystore file (a software HSM with a keystore), a file beside that
 * keystore, so that aliases survive a restart as the keys do.
 */
export function aliasFileFor(provider: KeyProvider, named: string | false | undefined): string | undefined {
  if (named !== undefined) return named === false ? undefined : named;
  if (provider.type !== 'soft-hsm') return undefined;
  const { keystore } = provider as KeyProvider & { readonly keystore?: unknown };
  return typeof keystore === 'string' ? `${keystore}${ALIAS_FILE_SUFFIX}` : undefined;
}
