import type { KeyProvider } from '@keyswitch/core';
import {
  KMS_LOCAL_FLAGS,
  type KmsLocalServer,
  kmsLocalArgsFrom,
  kmsLocalKeysFromConfig,
  startKmsLocal,
} from '@keyswitch/kms-local';
import type { Command } from 'commander';
import { EXIT, usageError } from '../lib/cli-error.js';
import { type CommandContext, openKeyswitch } from '../lib/context.js';
import { listenForInterruption } from '../lib/interruption.js';
import { writeLine } from '../lib/io.js';
import { JSON_OPTION, writeJson } from '../lib/output.js';

/** The flags of `keyswitch kms-local` come from kms-local's one table; `--config` is the CLI's global one. */
const FLAGS = KMS_LOCAL_FLAGS.filter((entry) => entry.flag !== '--config');

/**
 * `keyswitch kms-local`: a server speaking the AWS KMS protocol on loopback, backed by an in-memory
 * software HSM or by a configured provider, until Ctrl-C or SIGTERM.
 */
export function registerKmsLocal(program: Command, context: CommandContext): void {
  const command = program
    .command('kms-local')
    .description('run a local AWS KMS endpoint backed by the software HSM or a configured provider');
  for (const { flag, value, description } of FLAGS) {
    command.option(value === undefined ? flag : `${flag} <${value}>`, description);
  }
  command
    .option(...JSON_OPTION)
    .addHelpText(
      'after',
      '\nExample:\n  keyswitch kms-local --port 4599 --seed-keys examples/configs/kms-local.json\n',
    )
    .action(async (options: Readonly<Record<string, string | boolean | undefined>>) => {
      context.exitCode = await runKmsLocal(context, options);
    });
}

async function runKmsLocal(
  context: CommandContext,
  options: Readonly<Record<string, string | boolean | undefined>>,
): Promise<number> {
  const { stdout, stderr } = context.io;
  const values = new Map<string, string | true>();
  for (const { flag } of FLAGS) {
    const value = options[flag.slice(2).replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase())];
    if (value !== undefined && value !== false && flag !== '--provider') values.set(flag, value);
  }
  let args: ReturnType<typeof kmsLocalArgsFrom>;
  try {
    args = kmsLocalArgsFrom(values, context.env);
  } catch (error) {
    // A bad flag value is a usage error, said the way kms-local's own parser says it.
    throw usageError(error instanceof Error && 'detail' in error ? String(error.detail) : String(error));
  }
  const keys =
    args.seedKeys === undefined
      ? undefined
      : await kmsLocalKeysFromConfig(args.seedKeys, { env: context.env });
  const serverOptions = { ...args.options, ...(keys ? { keys } : {}) };
  const providerName = typeof options.provider === 'string' ? options.provider : undefined;
  let provider: KeyProvider | undefined;
  let closeKeyswitch = async () => {};
  if (providerName !== undefined) {
    const keyswitch = await openKeyswitch(context);
    closeKeyswitch = () => keyswitch.close().catch(() => undefined);
    try {
      provider = await keyswitch.provider(providerName);
    } catch (error) {
      await closeKeyswitch();
      throw error;
    }
  }
  const interruption = listenForInterruption(context.io, '');
  let server: KmsLocalServer;
  try {
    server = await startKmsLocal({
      ...serverOptions,
      ...(provider ? { provider, closeProvider: false } : {}),
      ...(args.log ? { log: (line: string) => writeLine(stderr, line) } : {}),
    });
  } catch (error) {
    interruption.dispose();
    await closeKeyswitch();
    throw error;
  }
  if (options.json === true) {
    // One line once listening, for a script to read; no secret in it (the access key id is not one).
    writeJson(stdout, {
      listening: true,
      endpoint: server.endpoint,
      host: server.host,
      port: server.port,
      region: server.region,
      provider: provider ? { name: providerName, type: provider.type } : null,
      // The secret is KMS_LOCAL_SECRET_ACCESS_KEY, or kms-local's documented default: never printed here.
      anyCredentials: server.credentials === undefined,
      ...(server.credentials ? { accessKeyId: server.credentials.accessKeyId } : {}),
    });
  } else
    printHowToConnect(context, server, provider ? `provider ${providerName} (${provider.type})` : undefined);
  await new Promise<void>((resolve) => {
    if (interruption.signal.aborted) resolve();
    else interruption.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  writeLine(stderr, 'kms-local: stopping');
  try {
    await server.close();
  } finally {
    await closeKeyswitch();
  }
  writeLine(stderr, 'kms-local: stopped');
  return EXIT.ok;
}

/** The human form: where it listens and how to point an AWS SDK or a keyswitch configuration at it. */
function printHowToConnect(
  context: CommandContext,
  server: KmsLocalServer,
  providerLabel: string | undefined,
): void {
  const { stdout } = context.io;
  const backing = providerLabel ?? 'an in-memory software HSM';
  writeLine(stdout, `kms-local listening on ${server.endpoint}, backed by ${backing}`);
  writeLine(stdout, '');
  writeLine(stdout, 'Point an AWS SDK at it:');
  writeLine(stdout, `  export AWS_ENDPOINT_URL_KMS=${server.endpoint}`);
  writeLine(stdout, `  export AWS_REGION=${server.region}`);
  if (server.credentials) {
    writeLine(stdout, `  export AWS_ACCESS_KEY_ID=${server.credentials.accessKeyId}`);
    writeLine(
      stdout,
      context.env.KMS_LOCAL_SECRET_ACCESS_KEY === undefined
        ? `  export AWS_SECRET_ACCESS_KEY=${server.credentials.secretAccessKey}`
        : '  export AWS_SECRET_ACCESS_KEY="$KMS_LOCAL_SECRET_ACCESS_KEY"',
    );
  } else {
    writeLine(stdout, '  (any credentials are accepted)');
  }
  writeLine(
    stdout,
    `or in code: new KMSClient({ endpoint: '${server.endpoint}', region: '${server.region}', credentials })`,
  );
  const credentials = server.credentials
    ? `, "credentials": { "accessKeyId": "${server.credentials.accessKeyId}", "secretAccessKey": { "env": "AWS_SECRET_ACCESS_KEY" } }`
    : '';
  writeLine(
    stdout,
    `or in a keyswitch configuration: { "type": "aws-kms", "region": "${server.region}", "endpoint": "${server.endpoint}"${credentials} }`,
  );
  writeLine(stdout, '');
  writeLine(stdout, 'Press Ctrl-C to stop.');
}
