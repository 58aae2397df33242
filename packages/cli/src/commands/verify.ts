import { algorithmInfo, keySpecInfo, type SignatureFormat } from '@keyswitch/core';
import type { Command } from 'commander';
import { EXIT } from '../lib/cli-error.js';
import { type CommandContext, withKeyswitch } from '../lib/context.js';
import { writeLine } from '../lib/io.js';
import { JSON_OPTION, writeJson } from '../lib/output.js';
import { decodeSignatureFile, readInputFile } from '../lib/read-input.js';
import { looksLikeDer, parseSignatureFormat } from '../lib/signature-format.js';

interface VerifyOptions {
  readonly in: string;
  readonly signature: string;
  readonly format?: string;
  readonly digest?: boolean;
  readonly json?: boolean;
}

/** `keyswitch verify NAME --in FILE --signature FILE`: prints `valid` (exit 0) or `invalid` (exit 1). */
export function registerVerify(program: Command, context: CommandContext): void {
  program
    .command('verify')
    .description(
      'verify a signature over a file with a configured signing key; exit 0 when valid, 1 when not',
    )
    .argument('<name>', 'logical key name of a SIGN_VERIFY key')
    .requiredOption('--in <file>', 'the signed message (or its digest, with --digest); - reads stdin')
    .requiredOption('--signature <file>', 'the signature, binary or base64')
    .option(
      '--format <format>',
      'ECDSA signature encoding: der or p1363 (default: recognised from the signature)',
    )
    .option('--digest', "the input is a precomputed digest of the algorithm's hash")
    .option(...JSON_OPTION)
    .action(async (name: string, options: VerifyOptions) => {
      context.exitCode = await withKeyswitch(context, async (keyswitch) => {
        const signer = keyswitch.signer(name);
        const input = await readInputFile(context.cwd, options.in, '--in', context.io.stdin);
        const signature = decodeSignatureFile(
          await readInputFile(context.cwd, options.signature, '--signature'),
        );
        let format: SignatureFormat | undefined = parseSignatureFormat(options.format, signer.algorithm);
        if (format === undefined && algorithmInfo(signer.algorithm).family === 'ECDSA') {
          const raw = signature.length === 2 * keySpecInfo(signer.spec).coordinateBytes!;
          format = raw && !looksLikeDer(signature) ? 'P1363' : 'DER';
        }
        const verifyOptions = format === undefined ? {} : { format };
        const valid = options.digest
          ? await signer.verifyDigest(input, signature, verifyOptions)
          : await signer.verify(input, signature, verifyOptions);
        if (options.json) writeJson(context.io.stdout, { key: name, algorithm: signer.algorithm, valid });
        else writeLine(context.io.stdout, valid ? 'valid' : 'invalid');
        return valid ? EXIT.ok : EXIT.failure;
      });
    });
}
