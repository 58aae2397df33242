import { Keyswitch, KeyswitchError } from '@keyswitch/core';
import { kmsLocalKeysFromConfig } from './keys-from-config.js';
import type { KmsLocalFaults } from './lib/fault-injector.js';
import {
  KMS_LOCAL_DEFAULTS,
  type KmsLocalOptions,
  type KmsLocalServer,
  startKmsLocal,
} from './start-kms-local.js';

/**
 * The help text of `keyswitch kms-local`.
 *
 * @example
 * ```ts
 * if (args.help) process.stdout.write(KMS_LOCAL_USAGE);
 * ```
 */
export const KMS_LOCAL_USAGE = `Usage: keyswitch kms-local [options]

A local server speaking the AWS KMS JSON protocol, backed by a keyswitch provider.

Options:
  --port N                    TCP port (default ${KMS_LOCAL_DEFAULTS.cliPort}; 0 picks a free one)
  --host ADDRESS              listen address (default ${KMS_LOCAL_DEFAULTS.host}; loopback only)
  --allow-non-loopback        allow a non-loopback --host
  --region REGION             region in ARNs and SigV4 scopes (default ${KMS_LOCAL_DEFAULTS.region})
  --account-id ID             12-digit account id (default ${KMS_LOCAL_DEFAULTS.accountId})
  --any-credentials           accept any well-formed SigV4 signature instead of verifying it
  --config FILE               a keyswitch configuration; with --provider, back the server by that provider
  --provider NAME             the provider in --config to use (default: an in-memory software HSM)
  --throttle-rate F           answer this fraction (0 to 1) of requests with ThrottlingException
  --delay-rate F              delay this fraction (0 to 1) of requests by --delay-ms
  --delay-ms N                delay length in milliseconds (default 1000)
  --fault-seed N              make the choice of faulted requests deterministic
  --fault-operations A,B      fault only these operations (Sign,Decrypt…)
  --seed-keys FILE            create the keys a keyswitch configuration expects under aws-kms aliases
  --help                      show this text

Credentials: by default requests must be signed with access key id KEYSWITCHLOCAL and secret access key
keyswitch-local-secret-access-key; set KMS_LOCAL_ACCESS_KEY_ID and KMS_LOCAL_SECRET_ACCESS_KEY to use others.
`;

/**
 * What `keyswitch kms-local` was asked to do, parsed from its flags.
 *
 * @example
 * ```ts
 * const { options, help } = parseKmsLocalArgs(['--port', '0']);
 * ```
 */
export interface KmsLocalArgs {
  /** Server options; the provider is resolved separately (see {@link startKmsLocalFromArgs}). */
  readonly options: Omit<KmsLocalOptions, 'provider' | 'closeProvider'>;
  /** The keyswitch configuration file named by `--config`. */
  readonly config?: string;
  /** The provider in that configuration named by `--provider`. */
  readonly provider?: string;
  /** A keyswitch configuration whose aws-kms alias keys are created at start (`--seed-keys`). */
  readonly seedKeys?: string;
  readonly help: boolean;
}

const VALUE_FLAGS = new Set([
  '--port',
  '--host',
  '--region',
  '--account-id',
  '--config',
  '--provider',
  '--throttle-rate',
  '--delay-rate',
  '--delay-ms',
  '--fault-seed',
  '--fault-operations',
  '--seed-keys',
]);
const SWITCHES = new Set(['--allow-non-loopback', '--any-credentials', '--help', '-h']);

/**
 * Parses the flags of `keyswitch kms-local` (see {@link KMS_LOCAL_USAGE}); `--flag=value` works too.
 * Credentials come from `env` (`KMS_LOCAL_ACCESS_KEY_ID`, `KMS_LOCAL_SECRET_ACCESS_KEY`), never from flags.
 *
 * @throws CONFIG_INVALID naming the flag that is unknown, missing its value or out of range
 *
 * @example
 * ```ts
 * const args = parseKmsLocalArgs(['--port', '4599', '--throttle-rate', '0.2', '--fault-seed', '7']);
 * args.options.port; // 4599
 * ```
 */
export function parseKmsLocalArgs(
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): KmsLocalArgs {
  const values = new Map<string, string>();
  const switches = new Set<string>();
  for (let index = 0; index < argv.length; index += 1) {
    const argument = argv[index]!;
    const equals = argument.indexOf('=');
    const flag = argument.startsWith('--') && equals !== -1 ? argument.slice(0, equals) : argument;
    if (VALUE_FLAGS.has(flag)) {
      const value = equals !== -1 && argument.startsWith('--') ? argument.slice(equals + 1) : argv[++index];
      if (value === undefined || value === '') throw invalid(`${flag} needs a value`);
      values.set(flag, value);
    } else if (SWITCHES.has(flag) && equals === -1) {
      switches.add(flag);
    } else {
      throw invalid(`unknown option ${JSON.stringify(argument)}; see --help`);
    }
  }
  const faults: Record<string, unknown> = {};
  const throttleRate = number(values, '--throttle-rate');
  const delayRate = number(values, '--delay-rate');
  const delayMs = integer(values, '--delay-ms');
  const seed = integer(values, '--fault-seed');
  if (throttleRate !== undefined) faults.throttleRate = rate('--throttle-rate', throttleRate);
  if (delayRate !== undefined) faults.delayRate = rate('--delay-rate', delayRate);
  if (delayMs !== undefined) faults.delayMs = delayMs;
  if (seed !== undefined) faults.seed = seed;
  if (values.has('--fault-operations'))
    faults.operations = values.get('--fault-operations')!.split(',').filter(Boolean);
  const accessKeyId = env.KMS_LOCAL_ACCESS_KEY_ID;
  const secretAccessKey = env.KMS_LOCAL_SECRET_ACCESS_KEY;
  if ((accessKeyId === undefined) !== (secretAccessKey === undefined)) {
    throw invalid('set both KMS_LOCAL_ACCESS_KEY_ID and KMS_LOCAL_SECRET_ACCESS_KEY, or neither');
  }
  if (values.has('--provider') && !values.has('--config')) throw invalid('--provider needs --config');
  const port = integer(values, '--port') ?? KMS_LOCAL_DEFAULTS.cliPort;
  const options: KmsLocalArgs['options'] = {
    port,
    ...(values.has('--host') ? { host: values.get('--host')! } : {}),
    ...(switches.has('--allow-non-loopback') ? { allowNonLoopback: true } : {}),
    ...(values.has('--region') ? { region: values.get('--region')! } : {}),
    ...(values.has('--account-id') ? { accountId: values.get('--account-id')! } : {}),
    ...(switches.has('--any-credentials')
      ? { credentials: 'any' as const }
      : accessKeyId !== undefined
        ? { credentials: [{ accessKeyId, secretAccessKey: secretAccessKey! }] }
        : {}),
    ...(Object.keys(faults).length > 0 ? { faults: faults as KmsLocalFaults } : {}),
  };
  return {
    options,
    ...(values.has('--config') ? { config: values.get('--config')! } : {}),
    ...(values.has('--provider') ? { provider: values.get('--provider')! } : {}),
    ...(values.has('--seed-keys') ? { seedKeys: values.get('--seed-keys')! } : {}),
    help: switches.has('--help') || switches.has('-h'),
  };
}

/**
 * What `keyswitch kms-local` does: parses the flags and starts the server, backed by the provider named
 * with `--config` and `--provider` or by an in-memory software HSM, with the keys of `--seed-keys`
 * created. The caller prints `server.endpoint` and closes the server on SIGINT. Returns `undefined`
 * after `--help` (the caller prints {@link KMS_LOCAL_USAGE}).
 *
 * @throws CONFIG_INVALID for bad flags, a configuration error or a port in use
 *
 * @example
 * ```ts
 * const server = await startKmsLocalFromArgs(process.argv.slice(3));
 * if (server) {
 *   console.log(`kms-local listening on ${server.endpoint}`);
 *   process.once('SIGINT', () => void server.close());
 * }
 * ```
 */
export async function startKmsLocalFromArgs(
  argv: readonly string[],
  context: { env?: NodeJS.ProcessEnv; log?: (line: string) => void } = {},
): Promise<KmsLocalServer | undefined> {
  const args = parseKmsLocalArgs(argv, context.env);
  if (args.help) return undefined;
  const keys =
    args.seedKeys === undefined
      ? undefined
      : await kmsLocalKeysFromConfig(args.seedKeys, context.env ? { env: context.env } : {});
  const options = {
    ...args.options,
    ...(context.log ? { log: context.log } : {}),
    ...(keys ? { keys } : {}),
  };
  if (args.config === undefined) return startKmsLocal(options);
  const keyswitch = await Keyswitch.fromConfig(args.config, context.env ? { env: context.env } : {});
  const names = keyswitch.providerNames();
  const name = args.provider ?? (names.length === 1 ? names[0] : undefined);
  if (name === undefined) {
    await keyswitch.close();
    throw invalid(`--provider must name one of the configuration's providers: ${names.join(', ')}`);
  }
  try {
    const provider = await keyswitch.provider(name);
    const server = await startKmsLocal({ ...options, provider, closeProvider: false });
    return {
      ...server,
      close: async () => {
        await server.close();
        await keyswitch.close();
      },
    };
  } catch (error) {
    await keyswitch.close();
    throw error;
  }
}

function invalid(detail: string): KeyswitchError {
  return new KeyswitchError('CONFIG_INVALID', detail, { provider: 'kms-local' });
}

function number(values: Map<string, string>, flag: string): number | undefined {
  const text = values.get(flag);
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isFinite(value)) throw invalid(`${flag} must be a number, got ${JSON.stringify(text)}`);
  return value;
}

function integer(values: Map<string, string>, flag: string): number | undefined {
  const value = number(values, flag);
  if (value !== undefined && (!Number.isInteger(value) || value < 0)) {
    throw invalid(`${flag} must be a non-negative integer, got ${value}`);
  }
  return value;
}

function rate(flag: string, value: number): number {
  if (value < 0 || value > 1) throw invalid(`${flag} must be from 0 to 1, got ${value}`);
  return value;
}
