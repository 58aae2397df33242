import { type CreateKeyRequest, isKeyswitchError, type Keyswitch } from '@keyswitch/core';
import { CliError, EXIT } from '../lib/cli-error.js';
import type { CommandContext } from '../lib/context.js';
import { writeLine } from '../lib/io.js';
import { labelFromRef } from '../lib/label-from-ref.js';
import { writeJson } from '../lib/output.js';

/** One version of a versioned logical key, as `keys create` would create it. */
interface PlannedVersion {
  readonly id: string;
  readonly providerName: string;
  readonly ref: string;
  readonly request: CreateKeyRequest;
}

/**
 * What creating the versioned logical key `name` (a `versions` entry) means: one backend key per version.
 * A version naming a `keys` entry takes that entry's provider, reference, spec and usage; a version given
 * as `provider` + `ref` takes the spec and usage of the versions that name `keys` entries.
 */
function planVersions(keyswitch: Keyswitch, name: string): PlannedVersion[] {
  const versioned = keyswitch.keyVersions()[name]!;
  const template = versioned.versions.find((version) => version.key !== undefined);
  const templateConfig = template?.key === undefined ? undefined : keyswitch.keyConfig(template.key);
  return versioned.versions.map((version, index) => {
    const config = version.key === undefined ? undefined : keyswitch.keyConfig(version.key);
    const providerName = config?.provider ?? version.provider!;
    const ref = config?.ref ?? version.ref!;
    const spec = config?.spec ?? templateConfig?.spec;
    const usage = config?.usage ?? templateConfig?.usage;
    if (spec === undefined || usage === undefined) {
      throw new CliError(
        'CONFIG_INVALID',
        `versions.${name}.versions[${index}]: no version of "${name}" names a key in "keys", so the spec to create it with is unknown; add one with "key"`,
      );
    }
    const label = labelFromRef(ref);
    if (label === undefined) {
      throw new CliError(
        'CONFIG_INVALID',
        `versions.${name}.versions[${index}]: ref ${ref} is an id the backend assigns; use an alias or label ref to create it by name`,
      );
    }
    const request: CreateKeyRequest = {
      spec,
      usage,
      label,
      description: `keyswitch logical key ${name}, version ${version.id}`,
    };
    return { id: version.id, providerName, ref, request };
  });
}

/**
 * `keyswitch keys create NAME` for a versioned logical key: creates the backend key of every version that
 * does not exist yet, and leaves the others as they are. KEY_EXISTS (exit 1) when every version exists.
 *
 * @example
 * ```ts
 * if (Object.hasOwn(keyswitch.keyVersions(), name)) return createVersions(keyswitch, name, context, json);
 * ```
 */
export async function createVersions(
  keyswitch: Keyswitch,
  name: string,
  context: CommandContext,
  json: boolean,
): Promise<number> {
  const results: { id: string; provider: string; ref: string; created: boolean; keyId?: string }[] = [];
  for (const planned of planVersions(keyswitch, name)) {
    const provider = await keyswitch.provider(planned.providerName);
    let exists = true;
    try {
      await provider.describeKey(planned.ref, { keyName: name });
    } catch (error) {
      if (!isKeyswitchError(error, 'KEY_NOT_FOUND')) throw error;
      exists = false;
    }
    const result = { id: planned.id, provider: planned.providerName, ref: planned.ref };
    if (exists) {
      results.push({ ...result, created: false });
      if (!json)
        writeLine(
          context.io.stdout,
          `${name} version ${planned.id}: exists in provider ${planned.providerName} (${planned.ref}), left as is`,
        );
      continue;
    }
    const created = await provider.createKey(planned.request, { keyName: name });
    results.push({ ...result, created: true, keyId: created.keyId });
    if (!json)
      writeLine(
        context.io.stdout,
        `${name} version ${planned.id}: created ${created.spec} ${created.usage} key in provider ${planned.providerName}: ref ${created.ref}`,
      );
  }
  if (results.every((result) => !result.created))
    throw new CliError('KEY_EXISTS', `every version of "${name}" already exists`, EXIT.failure);
  if (json) writeJson(context.io.stdout, { key: name, versions: results });
  return EXIT.ok;
}
