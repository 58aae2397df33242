import { type AuditBus, type Secret, secretReferenceSchema } from '@keyswitch/core';
import { z } from 'zod';

/** The keystore file path: the one rule a section and `SoftHsm.open()`'s options share. */
const keystoreSchema = z
  .string({ error: 'expected the keystore file path' })
  .min(1, 'expected the keystore file path');

/** A keystore needs a passphrase, in a section and in options alike. */
function keystoreNeedsPassphrase(
  value: { readonly keystore?: string | undefined; readonly passphrase?: unknown },
  context: z.RefinementCtx,
): void {
  if (value.keystore !== undefined && value.passphrase === undefined) {
    context.addIssue({
      code: 'custom',
      path: ['passphrase'],
      message:
        'a keystore needs a passphrase: a reference { "env": "VARIABLE" } or { "file": "path" } in a configuration',
    });
  }
}

/**
 * The zod schema of a `soft-hsm` provider section. `keystore` is a path relative to the configuration
 * file's directory; it needs a `passphrase` reference. Without `keystore` keys live in memory. Strict: a
 * misspelt option is CONFIG_INVALID naming it.
 *
 * @example
 * ```ts
 * softHsmConfigSchema.parse({
 *   type: 'soft-hsm',
 *   keystore: '.keyswitch/dev.keystore',
 *   passphrase: { env: 'KEYSTORE_PASSPHRASE' },
 * });
 * ```
 */
export const softHsmConfigSchema = z
  .strictObject({
    type: z.literal('soft-hsm', { error: 'expected "soft-hsm"' }),
    keystore: keystoreSchema.optional(),
    passphrase: secretReferenceSchema.optional(),
  })
  .superRefine(keystoreNeedsPassphrase);

/**
 * The zod schema of `SoftHsm.open()`'s options: the section's `keystore` rule and its passphrase rule,
 * with the passphrase itself (a string or a `Secret`) rather than a reference, and the options only code
 * passes (`name`, `audit`, `environment`, `readOnly`, `clock`). Strict, as the section is.
 *
 * @example
 * ```ts
 * const options = parseWithSchema(softHsmOptionsSchema, { keystore: 'dev.keystore', passphrase }, '');
 * ```
 */
export const softHsmOptionsSchema = z
  .strictObject({
    name: z.string({ error: 'expected the provider name' }).optional(),
    // Checked by shape, not by class: a bus or Secret from another copy of @keyswitch/core works.
    audit: z
      .custom<AuditBus>(
        (value) => typeof (value as { subscribe?: unknown } | null)?.subscribe === 'function',
        {
          error: 'expected an AuditBus',
        },
      )
      .optional(),
    keystore: keystoreSchema.optional(),
    passphrase: z
      .union(
        [
          z.string().min(1, 'expected the keystore passphrase'),
          z.custom<Secret>((value) => typeof (value as { reveal?: unknown } | null)?.reveal === 'function'),
        ],
        { error: 'expected the passphrase: a string or a Secret' },
      )
      .optional(),
    environment: z.string({ error: 'expected the environment name' }).optional(),
    readOnly: z.boolean({ error: 'expected true or false' }).optional(),
    clock: z
      .custom<() => Date>((value) => typeof value === 'function', {
        error: 'expected a function returning a Date',
      })
      .optional(),
  })
  .superRefine(keystoreNeedsPassphrase);

/**
 * `SoftHsm.open()`'s options once checked.
 *
 * @example
 * ```ts
 * const checked: SoftHsmCheckedOptions = parseWithSchema(softHsmOptionsSchema, options, '');
 * ```
 */
export type SoftHsmCheckedOptions = z.output<typeof softHsmOptionsSchema>;

/**
 * A validated `soft-hsm` provider section.
 *
 * @example
 * ```ts
 * const config: SoftHsmConfig = { type: 'soft-hsm' }; // keys in memory
 * ```
 */
export type SoftHsmConfig = z.output<typeof softHsmConfigSchema>;
