import { resolve } from 'node:path';
import { type AuditVerification, counted, isKeyswitchError, verifyAuditFile } from '@keyswitch/core';
import type { Command } from 'commander';
import { CliError, EXIT, errorText, usageError } from '../lib/cli-error.js';
import type { CommandContext } from '../lib/context.js';
import { writeLine } from '../lib/io.js';
import { errorJson, JSON_OPTION, writeJson } from '../lib/output.js';

interface AuditVerifyOptions {
  readonly head?: string;
  readonly json?: boolean;
}

const HEAD = /^(?:(\d+):)?([0-9a-f]{64})$/;

/**
 * `keyswitch audit verify FILE [--head HASH]`: checks a hash-chained audit file (PCI DSS 10.3.4); exit 0
 * when intact, 1 naming each edited, removed, inserted or reordered line. Needs no configuration.
 */
export function registerAuditVerify(audit: Command, context: CommandContext): void {
  audit
    .command('verify')
    .description('check a hash-chained audit file: exit 0 when intact, 1 naming each tampered line and how')
    .argument('<file>', 'the audit file (JSON lines written by the audit file sink)')
    .option(
      '--head <hash>',
      'the chain head recorded earlier ([SEQ:]HASH, as this command prints it): lines cut from the end are then found too',
    )
    .option(...JSON_OPTION)
    .action(async (file: string, options: AuditVerifyOptions) => {
      context.exitCode = await verify(file, context, options);
    });
}

async function verify(file: string, context: CommandContext, options: AuditVerifyOptions): Promise<number> {
  let expectedHead: { seq: number; hash: string } | { hash: string } | undefined;
  if (options.head !== undefined) {
    const match = HEAD.exec(options.head.trim().toLowerCase());
    if (!match) throw usageError('--head: expected the chain head as HASH or SEQ:HASH (64 hex digits)');
    expectedHead = match[1] === undefined ? { hash: match[2]! } : { seq: Number(match[1]), hash: match[2]! };
  }
  let result: AuditVerification;
  try {
    result = await verifyAuditFile(resolve(context.cwd, file), expectedHead ? { expectedHead } : {});
  } catch (error) {
    if (isKeyswitchError(error)) {
      // The file cannot be read: a usage error naming the file as given.
      throw new CliError('INVALID_INPUT', errorText(error).replace(resolve(context.cwd, file), file));
    }
    throw error;
  }
  const { stdout, stderr } = context.io;
  const head = `${result.head.seq}:${result.head.hash}`;
  const failure = result.ok ? undefined : { code: 'AUDIT_TAMPERED', message: tamperedMessage(file, result) };
  if (options.json) {
    writeJson(stdout, {
      file,
      intact: result.ok,
      records: result.records,
      lines: result.lines,
      head,
      issues: result.issues.map(({ line, kind, message }) => ({ line, kind, message })),
      ...(failure ? errorJson(failure) : {}),
    });
    return result.ok ? EXIT.ok : EXIT.failure;
  }
  if (!failure) {
    writeLine(stdout, `${file}: intact, ${counted(result.records, 'record')}; head ${head}`);
    return EXIT.ok;
  }
  for (const issue of result.issues) writeLine(stdout, `line ${issue.line}: ${issue.kind}: ${issue.message}`);
  writeLine(stderr, `keyswitch: ${failure.code}: ${failure.message}`);
  return EXIT.failure;
}

function tamperedMessage(file: string, result: AuditVerification): string {
  const kinds = new Map<string, number>();
  for (const issue of result.issues) kinds.set(issue.kind, (kinds.get(issue.kind) ?? 0) + 1);
  const summary = [...kinds].map(([kind, count]) => `${kind} ${count}`).join(', ');
  return `${file} fails verification: ${counted(result.issues.length, 'finding')} (${summary}); ${result.records} of ${counted(result.lines, 'line')} on the chain`;
}
