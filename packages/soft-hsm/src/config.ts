import { secretReferenceSchema } from '@keyswitch/core';
import { z } from 'zod';

/**
 * The zod schema of a `soft-hsm` provider section. `keystore` is a path relative to the configuration
 * file's directory; it needs a `passphrase` reference. Without `keystore` keys live in memory.
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
    keystore: z
      .string({ error: 'expected the keystore file path' })
      .min(1, 'expected the keystore file path')
      .optional(),
    passphrase: secretReferenceSchema.optional(),
  })
  .superRefine((config, context) => {
    if (config.keystore !== undefined && config.passphrase === undefined) {
      context.addIssue({
        code: 'custom',
        path: ['passphrase'],
        message: 'a keystore needs a passphrase reference: { "env": "VARIABLE" } or { "file": "path" }',
      });
    }
  });

/**
 * A validated `soft-hsm` provider section.
 *
 * @example
 * ```ts
 * const config: SoftHsmConfig = { type: 'soft-hsm' }; // keys in memory
 * ```
 */
export type SoftHsmConfig = z.output<typeof softHsmConfigSchema>;
