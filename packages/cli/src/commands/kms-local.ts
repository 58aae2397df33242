import type { KeyProvider } from '@keyswitch/core';
import type { KmsLocalFaults, KmsLocalOptions, KmsLocalServer } from '@keyswitch/kms-local';
import type { Command } from 'commander';
import { EXIT, usageError } from '../lib/cli-error.js';
import { type CommandContext, openKeyswitch } from '../lib/context.js';
import { listenForInterruption } from '../lib/interruption.js';
import { writeLine } from '../lib/io.js';

interface KmsLocalCommandOptions {
  readonly port?: string;
  readonly host?: string;
  readonly allowNonLoopback?: boolean;
  readonly region?: string;
  readonly accountId?: string;
  readonly provider?: string;
  readonly anyCredentials?: boolean;
  readonly throttleRate?: string;
  readonly delayRate?: string;
  readonly delayMs?: string;
  readonly faultSeed?: string;
  readonly faultOperations?: string;
  readonly log?: boolean;
}

/**
 * `keyswitch kms-local`: a server speaking the AWS KMS protocol on loopback, backed by an in-memory
 * software HSM or by a configured provider, until Ctrl-C or SIGTERM.
 */
export function registerKmsLocal(program: Command, context: CommandContext): void {
  program
    .command('kms-local')
    .description('run a local AWS KMS endpoint backed by the software HSM or a configured provider')
    .option('--port <n>', 'TCP port; 0 picks a free one (default 4599)')
    .option('--host <address>', 'listen address, loopback only (default 127.0.0.1)')
    .option('--allow-non-loopback', 'allow a non-loopback --host (kms-local has no real access control)')
    .option(
      '--provider <name>',
      'back the server by this provider of the configuration (default: in-memory software HSM)',
    )
    .option('--region <region>', 'region in ARNs and SigV4 scopes (default us-east-1)')
    .option('--account-id <id>', '12-digit account id (default 111122223333)')
    .option('--any-credentials', 'accept any well-formed SigV4 signature instead of verifying it')
    .option('--throttle-rate <f>', 'answer this fraction (0 to 1) of requests with ThrottlingException')
    .option('--delay-rate <f>', 'delay this fraction (0 to 1) of requests by --delay-ms')
    .option('--delay-ms <n>', 'delay length in milliseconds')
    .option('--fault-seed <n>', 'make the choice of faulted requests deterministic')
    .option('--fault-operations <list>', 'fault only these operations (Sign,Decrypt,...)')
    .option('--log', 'print one line per request')
    .action(async (options: KmsLocalCommandOptions) => {
      context.exitCode = await runKmsLocal(context, options);
    });
}

async function runKmsLocal(context: CommandContext, options: KmsLocalCommandOptions): Promise<number> {
  const { stdout, stderr } = context.io;
  // Imported when used, so the other commands work without the server's code.
  const { KMS_LOCAL_DEFAULTS, startKmsLocal } = await import('@keyswitch/kms-local');
  const serverOptions = parseServerOptions(context, options, KMS_LOCAL_DEFAULTS.cliPort);
  let provider: KeyProvider | undefined;
  let closeKeyswitch = async () => {};
  if (options.provider !== undefined) {
    const keyswitch = await openKeyswitch(context);
    closeKeyswitch = () => keyswitch.close().catch(() => undefined);
    try {
      provider = await keyswitch.provider(options.provider);
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
      ...(options.log ? { log: (line: string) => writeLine(stderr, line) } : {}),
    });
  } catch (error) {
    interruption.dispose();
    await closeKeyswitch();
    throw error;
  }
  const backing = provider ? `provider ${options.provider} (${provider.type})` : 'an in-memory software HSM';
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

function parseServerOptions(
  context: CommandContext,
  options: KmsLocalCommandOptions,
  defaultPort: number,
): KmsLocalOptions {
  const port = options.port === undefined ? defaultPort : integer(options.port, '--port');
  const faults: { -readonly [K in keyof KmsLocalFaults]: KmsLocalFaults[K] } = {};
  if (options.throttleRate !== undefined) faults.throttleRate = rate(options.throttleRate, '--throttle-rate');
  if (options.delayRate !== undefined) faults.delayRate = rate(options.delayRate, '--delay-rate');
  if (options.delayMs !== undefined) faults.delayMs = integer(options.delayMs, '--delay-ms');
  if (options.faultSeed !== undefined) faults.seed = integer(options.faultSeed, '--fault-seed');
  if (options.faultOperations !== undefined)
    faults.operations = options.faultOperations.split(',').filter(Boolean);
  const accessKeyId = context.env.KMS_LOCAL_ACCESS_KEY_ID;
  const secretAccessKey = context.env.KMS_LOCAL_SECRET_ACCESS_KEY;
  if ((accessKeyId === undefined) !== (secretAccessKey === undefined)) {
    throw usageError('set both KMS_LOCAL_ACCESS_KEY_ID and KMS_LOCAL_SECRET_ACCESS_KEY, or neither');
  }
  return {
    port,
    ...(options.host === undefined ? {} : { host: options.host }),
    ...(options.allowNonLoopback ? { allowNonLoopback: true } : {}),
    ...(options.region === undefined ? {} : { region: options.region }),
    ...(options.accountId === undefined ? {} : { accountId: options.accountId }),
    ...(options.anyCredentials
      ? { credentials: 'any' as const }
      : accessKeyId !== undefined
        ? { credentials: [{ accessKeyId, secretAccessKey: secretAccessKey! }] }
        : {}),
    ...(Object.keys(faults).length ? { faults } : {}),
  };
}

function integer(text: string, option: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0) throw usageError(`${option} must be a non-negative integer`);
  return value;
}

function rate(text: string, option: string): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0 || value > 1)
    throw usageError(`${option} must be a number from 0 to 1`);
  return value;
}
