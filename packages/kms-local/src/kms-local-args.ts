import { invalidInput, Keyswitch, KeyswitchError, requireObject } from '@keyswitch/core';
import { kmsLocalKeysFromConfig } from './keys-from-config.js';
import type { KmsLocalFaults } from './lib/fault-injector.js';
import { KMS_LOCAL_FEATURES, type KmsLocalFeature } from './lib/missing-features.js';
import {
  KMS_LOCAL_DEFAULTS,
  type KmsLocalOptions,
  type KmsLocalServer,
  startKmsLocal,
} from './start-kms-local.js';

/**
 * One flag of `keyswitch kms-local`: the one definition the CLI registers and {@link parseKmsLocalArgs}
 * reads, so the command, its help and this package never disagree.
 *
 * @example
 * ```ts
 * for (const { flag, value, description } of KMS_LOCAL_FLAGS) program.option(value ? `${flag} <${value}>` : flag, description);
 * ```
 */
export interface KmsLocalFlag {
  /** The flag, such as `--port`. */
  readonly flag: string;
  /** The name of its value in help (`n`, `file`); absent for a switch. */
  readonly value?: string;
  readonly description: string;
}

/**
 * Every flag of `keyswitch kms-local`.
 *
 * @example
 * ```ts
 * const names = KMS_LOCAL_FLAGS.map((entry) => entry.flag); // ['--port', '--host', …]
 * ```
 */
export const KMS_LOCAL_FLAGS: readonly KmsLocalFlag[] = Object.freeze([
  {
    flag: '--port',
    value: 'n',
    description: `TCP port (default ${KMS_LOCAL_DEFAULTS.cliPort}; 0 picks a free one)`,
  },
  {
    flag: '--host',
    value: 'address',
    description: `listen address (default ${KMS_LOCAL_DEFAULTS.host}; loopback only)`,
  },
  {
    flag: '--allow-non-loopback',
    description: 'allow a non-loopback --host (kms-local has no real access control)',
  },
  {
    flag: '--region',
    value: 'region',
    description: `region in ARNs and SigV4 scopes (default ${KMS_LOCAL_DEFAULTS.region})`,
  },
  {
    flag: '--account-id',
    value: 'id',
    description: `12-digit account id (default ${KMS_LOCAL_DEFAULTS.accountId})`,
  },
  {
    flag: '--any-credentials',
    description: 'accept any well-formed SigV4 signature instead of verifying it',
  },
  {
    flag: '--config',
    value: 'file',
    description: 'a keyswitch configuration (the provider named by --provider comes from it)',
  },
  {
    flag: '--provider',
    value: 'name',
    description: 'back the server by this provider of the configuration (default: in-memory software HSM)',
  },
  {
    flag: '--seed-keys',
    value: 'file',
    description: 'create the keys a keyswitch configuration expects under aws-kms aliases',
  },
  {
    flag: '--alias-file',
    value: 'file',
    description:
      'keep aliases in this JSON file, so that they survive a restart (default with a software-HSM keystore: <keystore>.aliases.json beside it)',
  },
  {
    flag: '--without',
    value: 'features',
    description: `leave out features, as some KMS endpoints do: ${KMS_LOCAL_FEATURES.join(',')}`,
  },
  {
    flag: '--throttle-rate',
    value: 'f',
    description: 'answer this fraction (0 to 1) of requests with ThrottlingException',
  },
  { flag: '--delay-rate', value: 'f', description: 'delay this fraction (0 to 1) of requests by --delay-ms' },
  { flag: '--delay-ms', value: 'n', description: 'delay length in milliseconds (default 1000)' },
  { flag: '--fault-seed', value: 'n', description: 'make the choice of faulted requests deterministic' },
  {
    flag: '--fault-operations',
    value: 'list',
    description: 'fault only these operations (Sign,Decrypt,...)',
  },
  { flag: '--log', description: 'print one line per request' },
]);

/**
 * The help text of `keyswitch kms-local`, made from {@link KMS_LOCAL_FLAGS}.
 *
 * @example
 * ```ts
 * if (args.help) process.stdout.write(KMS_LOCAL_USAGE);
 * ```
 */
export const KMS_LOCAL_USAGE = `Usage: keyswitch kms-local [options]

A local server speaking the AWS KMS JSON protocol, backed by a keyswitch provider.

Options:
${[...KMS_LOCAL_FLAGS, { flag: '--help', description: 'show this text' }]
  .map(
    ({ flag, value, description }: KmsLocalFlag) =>
      `  ${`${flag}${value ? ` ${value.toUpperCase()}` : ''}`.padEnd(28)}${description}`,
  )
  .join('\n')}

Example:
  keyswitch kms-local --port 4599 --seed-keys examples/configs/kms-local.json

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
  readonly options: Omit<KmsLocalOptions, 'provider' | 'closeProvider' | 'log'>;
  /** The keyswitch configuration file named by `--config`. */
  readonly config?: string;
  /** The provider in that configuration named by `--provider`. */
  readonly provider?: string;
  /** A keyswitch configuration whose aws-kms alias keys are created at start (`--seed-keys`). */
  readonly seedKeys?: string;
  /** `--log`: one line per request. */
  readonly log?: boolean;
  readonly help: boolean;
}

/**
 * Parses the flags of `keyswitch kms-local` (see {@link KMS_LOCAL_FLAGS}); `--flag=value` works too.
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
  if (!Array.isArray(argv) || !argv.every((argument) => typeof argument === 'string')) {
    throw invalidInput('parseKmsLocalArgs needs the arguments as an array of strings');
  }
  requireObject(env, 'the environment');
  const byFlag = new Map(KMS_LOCAL_FLAGS.map((entry) => [entry.flag, entry]));
  const values = new Map<string, string | true>();
  let help = false;
  for (let index = 0; index < argv.length; index += 1) {
    const argument = argv[index]!;
    const equals = argument.indexOf('=');
    const flag = argument.startsWith('--') && equals !== -1 ? argument.slice(0, equals) : argument;
    const entry = byFlag.get(flag);
    if (entry?.value !== undefined) {
      const value = equals !== -1 && argument.startsWith('--') ? argument.slice(equals + 1) : argv[++index];
      if (value === undefined || value === '') throw invalid(`${flag} needs a value`);
      values.set(flag, value);
    } else if (entry !== undefined && equals === -1) {
      values.set(flag, true);
    } else if ((flag === '--help' || flag === '-h') && equals === -1) {
      help = true;
    } else {
      throw invalid(`unknown option ${JSON.stringify(argument)}; see --help`);
    }
  }
  return { ...kmsLocalArgsFrom(values, env), help };
}

/**
 * The meaning of `keyswitch kms-local`'s flags, from their values by flag (`--port` → `'4599'`, a switch
 * → `true`), however they were parsed: by {@link parseKmsLocalArgs} or by the CLI's own parser.
 *
 * @throws CONFIG_INVALID naming the flag whose value is missing or out of range
 *
 * @example
 * ```ts
 * const args = kmsLocalArgsFrom(new Map([['--port', '0'], ['--without', 'HMAC']]));
 * ```
 */
export function kmsLocalArgsFrom(
  values: ReadonlyMap<string, string | true>,
  env: NodeJS.ProcessEnv = process.env,
): Omit<KmsLocalArgs, 'help'> {
  if (!(values instanceof Map)) throw invalidInput('kmsLocalArgsFrom needs the flag values as a Map');
  requireObject(env, 'the environment');
  const text = (flag: string): string | undefined => {
    const value = values.get(flag);
    if (value === true) throw invalid(`${flag} needs a value`);
    return value;
  };
  const faults: Record<string, unknown> = {};
  const throttleRate = number(text('--throttle-rate'), '--throttle-rate');
  const delayRate = number(text('--delay-rate'), '--delay-rate');
  const delayMs = integer(text('--delay-ms'), '--delay-ms');
  const seed = integer(text('--fault-seed'), '--fault-seed');
  if (throttleRate !== undefined) faults.throttleRate = rate('--throttle-rate', throttleRate);
  if (delayRate !== undefined) faults.delayRate = rate('--delay-rate', delayRate);
  if (delayMs !== undefined) faults.delayMs = delayMs;
  if (seed !== undefined) faults.seed = seed;
  const operations = text('--fault-operations');
  if (operations !== undefined) faults.operations = operations.split(',').filter(Boolean);
  const without = text('--without')
    ?.split(',')
    .filter(Boolean)
    .map((feature) => feature.toUpperCase().replace(/-/g, '_'));
  for (const feature of without ?? []) {
    if (!(KMS_LOCAL_FEATURES as readonly string[]).includes(feature)) {
      throw invalid(
        `--without: unknown feature ${JSON.stringify(feature)}; expected ${KMS_LOCAL_FEATURES.join(',')}`,
      );
    }
  }
  const accessKeyId = env.KMS_LOCAL_ACCESS_KEY_ID;
  const secretAccessKey = env.KMS_LOCAL_SECRET_ACCESS_KEY;
  if ((accessKeyId === undefined) !== (secretAccessKey === undefined)) {
    throw invalid('set both KMS_LOCAL_ACCESS_KEY_ID and KMS_LOCAL_SECRET_ACCESS_KEY, or neither');
  }
  if (values.has('--provider') && !values.has('--config')) throw invalid('--provider needs --config');
  const host = text('--host');
  const region = text('--region');
  const accountId = text('--account-id');
  const config = text('--config');
  const provider = text('--provider');
  const seedKeys = text('--seed-keys');
  const aliasFile = text('--alias-file');
  const options: KmsLocalArgs['options'] = {
    port: integer(text('--port'), '--port') ?? KMS_LOCAL_DEFAULTS.cliPort,
    ...(host === undefined ? {} : { host }),
    ...(values.has('--allow-non-loopback') ? { allowNonLoopback: true } : {}),
    ...(region === undefined ? {} : { region }),
    ...(accountId === undefined ? {} : { accountId }),
    ...(values.has('--any-credentials')
      ? { credentials: 'any' as const }
      : accessKeyId !== undefined
        ? { credentials: [{ accessKeyId, secretAccessKey: secretAccessKey! }] }
        : {}),
    ...(Object.keys(faults).length > 0 ? { faults: faults as KmsLocalFaults } : {}),
    ...(without === undefined || without.length === 0 ? {} : { without: without as KmsLocalFeature[] }),
    ...(aliasFile === undefined ? {} : { aliasFile }),
  };
  return {
    options,
    ...(config === undefined ? {} : { config }),
    ...(provider === undefined ? {} : { provider }),
    ...(seedKeys === undefined ? {} : { seedKeys }),
    ...(values.has('--log') ? { log: true } : {}),
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
  const args = parseKmsLocalArgs(argv, requireObject(context, 'startKmsLocalFromArgs context').env);
  if (args.help) return undefined;
  const keys =
    args.seedKeys === undefined
      ? undefined
      : await kmsLocalKeysFromConfig(args.seedKeys, context.env ? { env: context.env } : {});
  const options = {
    ...args.options,
    ...(context.log && args.log ? { log: context.log } : {}),
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

function number(text: string | undefined, flag: string): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isFinite(value)) throw invalid(`${flag} must be a number, got ${JSON.stringify(text)}`);
  return value;
}

function integer(text: string | undefined, flag: string): number | undefined {
  const value = number(text, flag);
  if (value !== undefined && (!Number.isInteger(value) || value < 0)) {
    throw invalid(`${flag} must be a non-negative integer, got ${value}`);
  }
  return value;
}

function rate(flag: string, value: number): number {
  if (value < 0 || value > 1) throw invalid(`${flag} must be from 0 to 1, got ${value}`);
  return value;
}
