import type { Command } from 'commander';
import { EXIT } from '../lib/cli-error.js';
import { type CommandContext, withKeyswitch } from '../lib/context.js';
import { writeLine } from '../lib/io.js';
import { JSON_OPTION, writeJson } from '../lib/output.js';
import { readInputFile, writeOutputFile } from '../lib/read-input.js';
import { parseSignatureFormat } from '../lib/signature-format.js';

interface SignOptions {
  readonly in: string;
  readonly out?: string;
  readonly format?: string;
  readonly digest?: boolean;
  readonly json?: boolean;
}

/** `keyswitch sign NAME --in FILE`: signs a file with a configured key; base64 on stdout or binary to --out. */
export function registerSign(program: Command, context: CommandContext): void {
  program
    .command('sign')
    .description('sign a file with a configured signing key')
    .argument('<name>', 'logical key name of a SIGN_VERIFY key')
    .requiredOption('--in <file>', 'the message to sign (or its digest, with --digest); - reads stdin')
    .option('--out <file>', 'write the signature here, binary; without it the signature is printed in base64')
    .option('--format <format>', 'ECDSA signature encoding: der (default) or p1363 (r||s, as JOSE uses)')
    .option('--digest', "the input is a precomputed digest of the algorithm's hash")
    .option(...JSON_OPTION)
    .action(async (name: string, options: SignOptions) => {
      context.exitCode = await withKeyswitch(context, async (keyswitch) => {
        const signer = keyswitch.signer(name);
        const format = parseSignatureFormat(options.format, signer.algorithm);
        const input = await readInputFile(context.cwd, options.in, '--in', context.io.stdin);
        const signOptions = format === undefined ? {} : { format };
        const signature = options.digest
          ? await signer.signDigest(input, signOptions)
          : await signer.sign(input, signOptions);
        if (options.out !== undefined) await writeOutputFile(context.cwd, options.out, signature, '--out');
        if (options.json) {
          const base64 = Buffer.from(signature).toString('base64');
          writeJson(context.io.stdout, { key: name, algorithm: signer.algorithm, signature: base64 });
        } else if (options.out === undefined)
          writeLine(context.io.stdout, Buffer.from(signature).toString('base64'));
        else {
          writeLine(
            context.io.stderr,
            `wrote a ${signature.length}-byte ${signer.algorithm} signature to ${options.out}`,
          );
        }
        return EXIT.ok;
      });
    });
}
