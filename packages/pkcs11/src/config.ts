import { type AuditBus, parseWithSchema, Secret, secretReferenceSchema } from '@keyswitch/core';
import { z } from 'zod';
import { PKCS11_PROFILES, type Pkcs11ProfileName } from './profiles.js';

const environmentReference = z.strictObject({
  env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name'),
});

/** A value written in the configuration, or `{ "env": "NAME" }` to read it from the environment. */
const valueOrEnvironment = (what: string) =>
  z.union([z.string().min(1, `expected ${what}`), environmentReference], {
    error: `expected ${what}, or { "env": "VARIABLE" } naming an environment variable that holds it`,
  });

const profileSchema = z.enum(PKCS11_PROFILES as [Pkcs11ProfileName, ...Pkcs11ProfileName[]], {
  error: `expected one of ${PKCS11_PROFILES.join(', ')}`,
});
const tokenSchema = z.union(
  [
    z.strictObject({ label: z.string().min(1).max(32, 'a token label has at most 32 characters') }),
    z.strictObject({
      serial: z.string().min(1).max(16, 'a token serial number has at most 16 characters'),
    }),
    z.strictObject({ slot: z.number().int().nonnegative() }),
  ],
  { error: 'expected { "label": "…" }, { "serial": "…" } or { "slot": number }' },
);
const sessionsSchema = z
  .number({ error: 'expected the number of sessions in the pool' })
  .int('expected a whole number of sessions')
  .min(1, 'expected at least 1 session')
  .max(1024, 'expected at most 1024 sessions');
const timeoutSchema = z
  .number({ error: 'expected milliseconds' })
  .int('expected whole milliseconds')
  .min(100, 'expected at least 100 ms')
  .max(600_000, 'expected at most 600000 ms');
/** Deprecated and ignored: every PKCS#11 call runs on worker threads. */
const executionSchema = z.enum(['async', 'worker'], { error: 'expected "async" or "worker"' });
const workerThreadsSchema = z
  .number({ error: 'expected the number of worker threads' })
  .int()
  .min(1, 'expected at least 1 worker thread')
  .max(64, 'expected at most 64 worker threads');

/**
 * Every setting a provider section and {@link Pkcs11Provider.open}'s options share, with its one rule:
 * the one definition both schemas are built from. `profile` defaults to `generic` in both (no quirk
 * assumed; what a token can do is probed).
 */
const settings = {
  profile: profileSchema.default('generic'),
  token: tokenSchema,
  sessions: sessionsSchema.default(8),
  operationTimeoutMs: timeoutSchema.default(30_000),
  execution: executionSchema.optional(),
  workerThreads: workerThreadsSchema.optional(),
};

/**
 * Zod schema of a `pkcs11` provider section: strict (a misspelt option is CONFIG_INVALID naming it).
 *
 * @example
 * ```json
 * { "type": "pkcs11", "profile": "softhsm", "module": "/usr/lib/softhsm/libsofthsm2.so",
 *   "token": { "label": "keyswitch" }, "pin": { "env": "HSM_PIN" }, "sessions": 8 }
 * ```
 */
export const pkcs11ConfigSchema = z.strictObject({
  type: z.literal('pkcs11').optional(),
  module: valueOrEnvironment('the path of the PKCS#11 module (a .so file)'),
  pin: secretReferenceSchema,
  libraryParameters: valueOrEnvironment('the C_Initialize library parameters (NSS: configdir=…)').optional(),
  ...settings,
});

/**
 * Zod schema of the options {@link Pkcs11Provider.open} takes: the same settings and rules as a
 * configuration section (built from one definition), strict as well, with the values resolved (the
 * module path and the PIN themselves rather than references to them), and the options every provider
 * takes (`name`, `audit`).
 *
 * @example
 * ```ts
 * const options = pkcs11OptionsSchema.parse({ module, profile: 'softhsm', token: { label: 'keyswitch' }, pin });
 * ```
 */
export const pkcs11OptionsSchema = z.strictObject({
  module: z
    .string({ error: 'expected the path of the PKCS#11 module' })
    .min(1, 'expected the path of the PKCS#11 module'),
  pin: z.union([z.string().min(1), z.instanceof(Secret)], {
    error: 'expected the PIN (a string or a Secret)',
  }),
  libraryParameters: z.string().optional(),
  baseDir: z.string().optional(),
  name: z.string().optional(),
  // Checked by shape, not by class: a bus from another copy of @keyswitch/core (CommonJS next to ESM) works.
  audit: z
    .custom<AuditBus>((value) => typeof (value as { subscribe?: unknown } | null)?.subscribe === 'function', {
      error: 'expected an AuditBus',
    })
    .optional(),
  ...settings,
});

/** Provider options after {@link pkcs11OptionsSchema}: defaults applied. */
export type Pkcs11CheckedOptions = z.output<typeof pkcs11OptionsSchema>;

/** A `pkcs11` provider section as written. */
export type Pkcs11ConfigInput = z.input<typeof pkcs11ConfigSchema>;
/** A validated `pkcs11` provider section. */
export type Pkcs11Config = z.output<typeof pkcs11ConfigSchema>;

/**
 * Validates a `pkcs11` provider section.
 *
 * @throws CONFIG_INVALID naming the JSON path of the first problem
 * @example
 * ```ts
 * const config = parsePkcs11Config(raw, 'providers.hsm');
 * ```
 */
export function parsePkcs11Config(raw: unknown, path: string): Pkcs11Config {
  return parseWithSchema(pkcs11ConfigSchema, raw, path);
}
