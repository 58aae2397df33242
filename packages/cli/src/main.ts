import { Command, CommanderError } from 'commander';
import { registerAuditVerify } from './commands/audit-verify.js';
import { registerBench } from './commands/bench.js';
import { registerConformance } from './commands/conformance.js';
import { registerCsr } from './commands/csr.js';
import { registerKeysCreate } from './commands/keys-create.js';
import { registerKeysDescribe } from './commands/keys-describe.js';
import { registerKeysInventory } from './commands/keys-inventory.js';
import { registerKeysList } from './commands/keys-list.js';
import { registerKeysPublicKey } from './commands/keys-public-key.js';
import { registerKeysRotate } from './commands/keys-rotate.js';
import { registerKmsLocal } from './commands/kms-local.js';
import { registerRewrap } from './commands/rewrap.js';
import { registerSign } from './commands/sign.js';
import { registerVerify } from './commands/verify.js';
import { describeFailure, EXIT } from './lib/cli-error.js';
import type { CommandContext } from './lib/context.js';
import { addHelpExamples, CLI_REFERENCE_URL } from './lib/help-examples.js';
import { type CliIo, processIo, writeLine } from './lib/io.js';
import { errorJson, wantsJson, writeJson } from './lib/output.js';
import { quietSdkVersionWarning } from './lib/quiet-sdk-warning.js';
import { VERSION } from './version.js';

/**
 * Runs the `keyswitch` command with `argv` as in `process.argv` (the first two entries are the node
 * binary and the script) and returns the exit code: 0 success, 1 an operation failed, 2 a usage or
 * configuration error, 130 interrupted. It never calls `process.exit`.
 *
 * @example
 * ```ts
 * process.exitCode = await main(process.argv);
 * const code = await main(['node', 'keyswitch', 'keys', 'list', '--json'], { stdout, stderr, env, cwd });
 * ```
 */
export async function main(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  quietSdkVersionWarning();
  const json = wantsJson(argv);
  const context: CommandContext = {
    io,
    env: io.env ?? process.env,
    cwd: io.cwd ?? process.cwd(),
    configPath: () => program.opts<{ config?: string }>().config,
    exitCode: EXIT.ok,
  };
  const program = buildProgram(context);

  try {
    await program.parseAsync([...argv]);
    return context.exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return EXIT.ok;
      // `keyswitch` or `keyswitch keys` alone prints help on stderr: a usage error.
      if (error.code === 'commander.help' || error.code === 'commander.executeSubCommandAsync')
        return EXIT.usage;
      const message = `${error.message.replace(/^error: /, '')} (see keyswitch --help)`;
      if (json) writeJson(io.stdout, errorJson({ code: 'USAGE', message }));
      else writeLine(io.stderr, `keyswitch: USAGE: ${message}`);
      return EXIT.usage;
    }
    const failure = describeFailure(error);
    if (json) writeJson(io.stdout, errorJson(failure));
    else writeLine(io.stderr, `keyswitch: ${failure.code}: ${failure.message}`);
    return failure.exitCode;
  }
}

/**
 * The `keyswitch` command tree with every command registered, writing to `context.io`.
 *
 * @example
 * ```ts
 * const program = buildProgram(context);
 * await program.parseAsync(process.argv);
 * ```
 */
export function buildProgram(context: CommandContext): Command {
  const { io } = context;
  const program = new Command('keyswitch');
  program
    .description('keyswitch: the keys of a payment system, in any HSM or KMS, by configuration')
    .version(VERSION, '-V, --version')
    .option('-c, --config <file>', 'configuration file (default: $KEYSWITCH_CONFIG, else ./keyswitch.json)')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
      // Errors are printed once, in keyswitch's format, below.
      outputError: () => undefined,
    })
    .showHelpAfterError(false)
    .addHelpText(
      'after',
      '\nExit codes: 0 success, 1 an operation failed, 2 usage or configuration error, 130 interrupted.\n' +
        `Reference: ${CLI_REFERENCE_URL}`,
    );

  const keys = program
    .command('keys')
    .description('list, describe, create and rotate keys and print public keys');
  registerKeysList(keys, context);
  registerKeysDescribe(keys, context);
  registerKeysCreate(keys, context);
  registerKeysRotate(keys, context);
  registerKeysPublicKey(keys, context);
  registerKeysInventory(keys, context);
  registerSign(program, context);
  registerVerify(program, context);
  registerCsr(program, context);
  registerConformance(program, context);
  registerBench(program, context);
  registerKmsLocal(program, context);
  registerRewrap(program, context);
  const audit = program.command('audit').description('check the hash-chained audit file');
  registerAuditVerify(audit, context);
  addHelpExamples(program);
  return program;
}
