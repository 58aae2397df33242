import { z } from 'zod';
import { withArticle } from '../english/with-article.js';
import {
  ALGORITHMS,
  type Algorithm,
  algorithmInfo,
  algorithmsFor,
  impliedUsage,
} from '../vocabulary/algorithms.js';
import { KEY_SPECS, KEY_USAGES, type KeySpec, type KeyUsage, keySpecInfo } from '../vocabulary/key-specs.js';
import { checkKeyVersionReferences, keyVersionsSchema } from './key-versions.js';
import { checkMultiKeyringReferences, multiKeyringsSchema } from './multi-keyrings.js';
import { markSecretReference } from './secrets.js';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const nameMessage =
  'expected a name of letters, digits and ._- (at most 128, starting with a letter or digit)';

/** Zod schema of a secret reference: `{ "env": "NAME" }` or `{ "file": "path" }`. */
export const secretReferenceSchema = z
  .union(
    [
      z.strictObject({
        env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name'),
      }),
      z.strictObject({ file: z.string().min(1, 'expected a file path') }),
    ],
    {
      error:
        'expected a secret reference: { "env": "VARIABLE" } or { "file": "path" }, never the secret itself',
    },
  )
  .superRefine((reference) => markSecretReference(reference));

const providerSchema = z.looseObject({
  type: z
    .string({ error: 'expected the provider type: "soft-hsm", "pkcs11", "aws-kms" or a package name' })
    .min(1),
  /**
   * The most one call to this provider's keys may take, in milliseconds, before it is UNAVAILABLE and a
   * key with replicas moves to the next; read by the registry, not passed to the backend package.
   */
  timeoutMs: z
    .int({ error: 'expected a whole number of milliseconds from 1 to 600,000' })
    .min(1, 'expected a whole number of milliseconds from 1 to 600,000')
    .max(600_000, 'expected a whole number of milliseconds from 1 to 600,000')
    .optional(),
});

const keySchema = z.strictObject({
  provider: z.string({ error: 'expected the name of a provider in "providers"' }),
  ref: z
    .string({ error: 'expected the key reference in the provider (an alias, a pkcs11: URI or a name)' })
    .min(1, 'expected a non-empty key reference'),
  spec: z.enum(KEY_SPECS as [KeySpec, ...KeySpec[]], { error: `expected one of ${KEY_SPECS.join(', ')}` }),
  usage: z
    .enum(KEY_USAGES as [KeyUsage, ...KeyUsage[]], { error: `expected one of ${KEY_USAGES.join(', ')}` })
    .optional(),
  algorithm: z
    .enum(ALGORITHMS as [Algorithm, ...Algorithm[]], { error: `expected one of ${ALGORITHMS.join(', ')}` })
    .optional(),
  description: z.string().optional(),
  /**
   * The same key on other backends (a KMS multi-Region replica, the key imported into a second HSM), tried
   * in order when the backends before them cannot be reached.
   */
  replicas: z
    .array(
      z.strictObject({
        provider: z.string({ error: 'expected the name of a provider in "providers"' }),
        ref: z
          .string({ error: 'expected the key reference in that provider' })
          .min(1, 'expected a non-empty key reference'),
      }),
      { error: 'expected a list of { "provider", "ref" }' },
    )
    .min(1, 'expected at least one replica (or leave "replicas" out)')
    .max(8, 'expected at most 8 replicas')
    .optional(),
  /**
   * With replicas: when the first copy asked has not answered after `afterMs`, or (`true`) after the p99
   * latency of its last calls, the next copy is asked too, and the first answer is used.
   */
  hedge: z
    .union(
      [
        z.literal(true),
        z.strictObject({
          afterMs: z
            .int({ error: 'expected a whole number of milliseconds from 1 to 60,000' })
            .min(1, 'expected a whole number of milliseconds from 1 to 60,000')
            .max(60_000, 'expected a whole number of milliseconds from 1 to 60,000'),
        }),
      ],
      { error: 'expected true (after the p99 latency) or { "afterMs": N }' },
    )
    .optional(),
});

/** Zod schema of the `audit` section: the hash-chained audit file every key operation is appended to. */
export const auditConfigSchema = z.strictObject(
  {
    file: z
      .string({ error: 'expected the audit file path (relative to the configuration file)' })
      .min(1, 'expected a non-empty file path'),
    fsync: z
      .enum(['always', 'interval', 'never'], { error: 'expected "always", "interval" or "never"' })
      .default('always'),
    failClosed: z.boolean({ error: 'expected true or false' }).default(false),
  },
  { error: typeError('expected an object: { "file": "audit/keyswitch.jsonl" }') },
);

/** Zod schema of a keyswitch configuration file; provider sections are checked by their own packages. */
export const configSchema = z
  .strictObject({
    $schema: z.string().optional(),
    environment: z
      .enum(['production', 'staging', 'development', 'test'], {
        error: 'expected "production", "staging", "development" or "test"',
      })
      .default('development'),
    providers: z.record(z.string().regex(NAME, nameMessage), providerSchema, {
      error: typeError('expected an object of providers by name'),
    }),
    keys: z.record(z.string().regex(NAME, nameMessage), keySchema, {
      error: typeError('expected an object of keys by name'),
    }),
    versions: keyVersionsSchema.optional(),
    multiKeyrings: multiKeyringsSchema.optional(),
    audit: auditConfigSchema.optional(),
  })
  .superRefine((config, context) => {
    if (config.multiKeyrings) {
      checkMultiKeyringReferences(
        config.multiKeyrings,
        { keys: Object.keys(config.keys), versionedKeys: Object.keys(config.versions ?? {}) },
        (path, message) => context.addIssue({ code: 'custom', path: [...path], message }),
      );
    }
    if (config.versions) {
      checkKeyVersionReferences(
        config.versions,
        { providers: Object.keys(config.providers), keys: Object.keys(config.keys) },
        (path, message) => context.addIssue({ code: 'custom', path: [...path], message }),
      );
    }
    const known = Object.keys(config.providers);
    /** A key's or a replica's provider must be configured. */
    const checkProvider = (provider: string, path: Array<string | number>) => {
      if (Object.hasOwn(config.providers, provider)) return;
      context.addIssue({
        code: 'custom',
        path: [...path, 'provider'],
        message: `no provider named "${provider}"; expected one of ${known.length ? known.join(', ') : '(none configured)'}`,
      });
    };
    for (const [name, key] of Object.entries(config.keys)) {
      checkProvider(key.provider, ['keys', name]);
      for (const [index, replica] of (key.replicas ?? []).entries()) {
        const path = ['keys', name, 'replicas', index];
        checkProvider(replica.provider, path);
        if (key.spec === 'SYMMETRIC_DEFAULT') {
          context.addIssue({
            code: 'custom',
            path,
            message:
              'a SYMMETRIC_DEFAULT key cannot have replicas: each backend writes its own ciphertext format; for data that must survive a backend, wrap its data keys under several keys with the envelope multi-keyring',
          });
        }
        const copies = [key, ...(key.replicas ?? []).slice(0, index)];
        if (copies.some((copy) => copy.provider === replica.provider && copy.ref === replica.ref)) {
          context.addIssue({ code: 'custom', path, message: 'names the same provider and reference twice' });
        }
      }
      if (key.hedge !== undefined && key.replicas === undefined) {
        context.addIssue({
          code: 'custom',
          path: ['keys', name, 'hedge'],
          message: 'hedging sends a second request to a replica; give "replicas", or leave "hedge" out',
        });
      }
      const info = keySpecInfo(key.spec);
      if (key.usage !== undefined && !info.usages.includes(key.usage)) {
        context.addIssue({
          code: 'custom',
          path: ['keys', name, 'usage'],
          message: `${withArticle(key.spec)} key cannot have usage ${key.usage}; expected one of ${info.usages.join(', ')}`,
        });
        continue;
      }
      if (key.algorithm !== undefined) {
        const usage = key.usage ?? algorithmInfo(key.algorithm).usage;
        const allowed = algorithmsFor(key.spec, usage);
        if (!allowed.includes(key.algorithm)) {
          context.addIssue({
            code: 'custom',
            path: ['keys', name, 'algorithm'],
            message: `${key.algorithm} cannot be used with ${withArticle(key.spec)} key${key.usage ? ` for ${key.usage}` : ''}; expected one of ${
              allowed.length ? allowed.join(', ') : algorithmsForSpec(key.spec).join(', ')
            }`,
          });
        }
      } else if (impliedUsage(key.spec, undefined) === undefined && key.usage === undefined) {
        context.addIssue({
          code: 'custom',
          path: ['keys', name, 'algorithm'],
          message: `${withArticle(key.spec)} key needs an "algorithm" (or a "usage") to say what it is for; expected one of ${algorithmsForSpec(key.spec).join(', ')}`,
        });
      }
    }
  });

/** An error message for a wrong type only, leaving other issues (such as bad record keys) their own message. */
function typeError(message: string) {
  return (issue: { code?: string }) => (issue.code === 'invalid_type' ? message : undefined);
}

function algorithmsForSpec(spec: KeySpec): Algorithm[] {
  return keySpecInfo(spec).usages.flatMap((usage) => algorithmsFor(spec, usage));
}

/** A configuration as written (before defaults). */
export type KeyswitchConfigInput = z.input<typeof configSchema>;
/** A validated configuration. */
export type KeyswitchConfig = z.output<typeof configSchema>;
/** One validated key entry. */
export type KeyConfig = KeyswitchConfig['keys'][string];
/** The validated `audit` section. */
export type AuditConfig = z.output<typeof auditConfigSchema>;
