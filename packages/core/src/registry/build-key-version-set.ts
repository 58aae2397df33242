import { activeVersionId, specTemplateKey, type VersionedKeyConfig } from '../config/key-versions.js';
import type { KeyConfig } from '../config/schema.js';
import { withArticle } from '../english/with-article.js';
import { KeyswitchError } from '../errors.js';
import type { KeyUsage } from '../vocabulary/key-specs.js';
import type { KeyBinding } from './key-binding.js';
import { type KeyVersionMember, type KeyVersionPolicy, KeyVersionSet } from './key-version-set.js';

/** What building a logical key's versions needs from the registry. */
export interface KeyVersionSources {
  /** The binding of a key in `keys`. */
  readonly bindingOf: (keyName: string) => KeyBinding;
  /** A binding for a `provider` + `ref` version, with the spec and algorithm of the key named `template`. */
  readonly bindingFor: (name: string, config: KeyConfig, path: string) => KeyBinding;
  readonly policy: KeyVersionPolicy;
}

/**
 * The versions of the `versions` entry `name` as a handle of `usage` uses them. A version naming a key in
 * `keys` is that key (its replicas included); a `provider` + `ref` version takes the spec, usage and
 * algorithm of the active version, or of the first version naming a key.
 *
 * @throws CONFIG_INVALID naming the version's path (no version names a key, so the spec is unknown; an
 * encrypter's versions with different algorithms); USAGE_MISMATCH naming the version whose key is not
 * for `usage`
 * @example
 * ```ts
 * const set = buildKeyVersionSet('ds-decrypt', config.versions['ds-decrypt'], 'ENCRYPT_DECRYPT', 'decrypter', sources);
 * ```
 */
export function buildKeyVersionSet(
  name: string,
  config: VersionedKeyConfig,
  usage: KeyUsage,
  handle: string,
  sources: KeyVersionSources,
): KeyVersionSet {
  const activeId = activeVersionId(config);
  const template = specTemplateKey(config);
  const members: KeyVersionMember[] = config.versions.map((version, index) => {
    const path = `versions.${name}.versions[${index}]`;
    let binding: KeyBinding;
    if (version.key !== undefined) {
      binding = sources.bindingOf(version.key);
    } else {
      if (template === undefined) {
        throw new KeyswitchError(
          'CONFIG_INVALID',
          `no version of "${name}" names a key in "keys", so the spec and algorithm of version "${version.id}" are unknown; give one version as { "id", "key" }`,
          { path, keyName: name },
        );
      }
      const { spec, usage: templateUsage, algorithm } = sources.bindingOf(template);
      binding = sources.bindingFor(
        name,
        { provider: version.provider!, ref: version.ref!, spec, usage: templateUsage, algorithm },
        path,
      );
    }
    if (binding.usage !== usage) {
      throw new KeyswitchError(
        'USAGE_MISMATCH',
        `version "${version.id}" (key "${binding.name}") is configured for ${binding.usage}; ${withArticle(handle)} needs ${usage}`,
        { path, keyName: name },
      );
    }
    return {
      id: version.id,
      binding,
      createdAt: version.createdAt === undefined ? undefined : new Date(version.createdAt),
      cryptoperiodDays: version.cryptoperiodDays ?? config.cryptoperiodDays,
      disabledFrom: version.disabledFrom === undefined ? undefined : new Date(version.disabledFrom),
    };
  });
  const active = members.find((member) => member.id === activeId)!;
  if (usage !== 'SIGN_VERIFY') {
    // A decrypter has one algorithm (a JWE's `alg` is checked against it), so its versions share it.
    members.forEach((member, index) => {
      if (member.binding.algorithm !== active.binding.algorithm) {
        throw new KeyswitchError(
          'CONFIG_INVALID',
          `version "${member.id}" uses ${member.binding.algorithm} but the active version "${active.id}" uses ${active.binding.algorithm}; the versions of a key that encrypts share one algorithm`,
          { path: `versions.${name}.versions[${index}]`, keyName: name },
        );
      }
    });
  }
  return new KeyVersionSet(name, members, activeId, sources.policy);
}
