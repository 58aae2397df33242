import { z } from 'zod';
import { configSchema } from '../config/schema.js';

/** Where the published schema lives, for `$schema` in configuration files. */
export const CONFIG_JSON_SCHEMA_ID = 'https://unpkg.com/@keyswitch/core/schema.json';

/**
 * The JSON Schema (draft 2020-12) of a keyswitch configuration file, generated from the zod schema
 * `fromConfig` validates with, so the two cannot drift. Editors use it for completion and checking when a
 * configuration names it in `$schema`; it is published as `@keyswitch/core/schema.json`. Provider sections
 * are left open here: each backend package validates its own.
 *
 * @example
 * ```ts
 * import { writeFileSync } from 'node:fs';
 * writeFileSync('schema.json', `${JSON.stringify(configJsonSchema(), null, 2)}\n`);
 * // keyswitch.json: { "$schema": "./node_modules/@keyswitch/core/schema.json", ... }
 * ```
 */
export function configJsonSchema(): Record<string, unknown> {
  const generated = z.toJSONSchema(configSchema, {
    io: 'input',
    target: 'draft-2020-12',
    unrepresentable: 'any',
  });
  const { $schema, ...rest } = generated as Record<string, unknown>;
  return {
    $schema,
    $id: CONFIG_JSON_SCHEMA_ID,
    title: 'keyswitch configuration',
    description:
      'Which backend holds each logical key: providers (soft-hsm, pkcs11, aws-kms), keys by name, versions and audit.',
    ...rest,
  };
}
