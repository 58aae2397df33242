import { isKeyswitchError } from '@keyswitch/core';
import { createCsr } from '@keyswitch/x509';
import type { Command } from 'commander';
import { CliError, EXIT, errorText } from '../lib/cli-error.js';
import { type CommandContext, withKeyswitch } from '../lib/context.js';
import { writeLine } from '../lib/io.js';
import { JSON_OPTION, writeJson } from '../lib/output.js';
import { writeOutputFile } from '../lib/read-input.js';

interface CsrOptions {
  readonly subject: string;
  readonly san?: readonly string[];
  readonly out?: string;
  readonly json?: boolean;
}

/**
 * `keyswitch csr NAME --subject DN [--san KIND:VALUE]... [--out FILE]`: a PKCS#10 certificate signing
 * request for a configured signing key, signed by that key in its backend (proof of possession). PEM on
 * stdout, or to --out. A malformed subject or SAN is a usage error (exit 2).
 */
export function registerCsr(program: Command, context: CommandContext): void {
  program
    .command('csr')
    .description('create a PKCS#10 certificate signing request signed by a configured signing key')
    .argument('<name>', 'logical key name of a SIGN_VERIFY key (RSA-PSS, RSA PKCS#1 v1.5 or ECDSA)')
    .requiredOption(
      '--subject <dn>',
      'subject name, RFC 4514 ("CN=acs.example.com,O=Example,C=US") or OpenSSL ("/C=US/O=Example/CN=acs.example.com")',
    )
    .option(
      '--san <name>',
      'subject alternative name, repeatable: dns:NAME, ip:ADDRESS, uri:URI or email:ADDRESS',
      (value: string, previous: string[] | undefined) => [...(previous ?? []), value],
    )
    .option('--out <file>', 'write the CSR (PEM) here; without it the CSR is printed')
    .option(...JSON_OPTION)
    .addHelpText(
      'after',
      '\nExample:\n  keyswitch csr acs-signing --subject "CN=acs.example.com,O=Example" --san dns:acs.example.com --out acs.csr\n' +
        '  openssl req -in acs.csr -verify -noout -text',
    )
    .action(async (name: string, options: CsrOptions) => {
      context.exitCode = await withKeyswitch(context, async (keyswitch) => {
        const signer = keyswitch.signer(name);
        let pem: string;
        try {
          pem = await createCsr({
            signer,
            subject: options.subject,
            ...(options.san === undefined ? {} : { sans: options.san }),
          });
        } catch (error) {
          // @keyswitch/x509 answers INVALID_INPUT for a subject or SAN it cannot encode: the arguments.
          if (isKeyswitchError(error, 'INVALID_INPUT')) {
            throw new CliError('INVALID_INPUT', errorText(error), EXIT.usage, { cause: error });
          }
          throw error;
        }
        const text = pem.endsWith('\n') ? pem : `${pem}\n`;
        if (options.out !== undefined) await writeOutputFile(context.cwd, options.out, text, '--out');
        if (options.json) {
          writeJson(context.io.stdout, {
            key: name,
            algorithm: signer.algorithm,
            subject: options.subject,
            sans: options.san ?? [],
            ...(options.out === undefined ? {} : { out: options.out }),
            pem: text,
          });
        } else if (options.out === undefined) context.io.stdout.write(text);
        else {
          writeLine(
            context.io.stderr,
            `wrote a certificate signing request for ${name} (${signer.algorithm}) to ${options.out}`,
          );
        }
        return EXIT.ok;
      });
    });
}
