import { parseWithSchema, secretReferenceSchema } from '@keyswitch/core';
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

/**
 * Zod schema of a `pkcs11` provider section.
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
  profile: z.enum(PKCS11_PROFILES as [Pkcs11ProfileName, ...Pkcs11ProfileName[]], {
    error: `expected one of ${PKCS11_PROFILES.join(', ')}`,
  }),
  token: z.union(
    [
      z.strictObject({ label: z.string().min(1).max(32, 'a token label has at most 32 characters') }),
      z.strictObject({
        serial: z.string().min(1).max(16, 'a token serial number has at most 16 characters'),
      }),
      z.strictObject({ slot: z.number().int().nonnegative() }),
    ],
    { error: 'expected { "label": "…" }, { "serial": "…" } or { "slot": number }' },
  ),
  pin: secretReferenceSchema,
  sessions: z
    .number({ error: 'expected the number of sessions in the pool' })
    .int()
    .min(1, 'expected at least 1 session')
    .max(1024, 'expected at most 1024 sessions')
    .default(8),
  libraryParameters: valueOrEnvironment('the C_Initialize library parameters (NSS: configdir=…)').optional(),
  execution: z.enum(['async', 'worker'], { error: 'expected "async" or "worker"' }).optional(),
  workerThreads: z.number().int().min(1).max(64, 'expected at most 64 worker threads').optional(),
  operationTimeoutMs: z
    .number({ error: 'expected milliseconds' })
    .int()
    .min(100, 'expected at least 100 ms')
    .max(600_000, 'expected at most 600000 ms')
    .default(30_000),
});

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
