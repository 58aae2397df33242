import { createReadStream } from 'node:fs';
import { decodeUtf8Strict } from '../bytes/utf8.js';
import { requireObject, requireString } from '../lib/argument-shape.js';
import { fileSystemError } from '../lib/file-system-error.js';
import type { AuditChainHead } from './audit-file-sink.js';
import { analyseChain, type ChainLine } from './lib/audit-chain.js';
import { expectedRecord, parseRecordLine } from './lib/audit-record.js';

/**
 * What was done to the file: `edited` (a line's content, or its hash, changed), `removed` (lines missing),
 * `inserted` (a line that is not part of the chain), `reordered` (lines out of order), `incomplete` (a
 * last line cut short, as by a crash).
 */
export type AuditTamperKind = 'edited' | 'removed' | 'inserted' | 'reordered' | 'incomplete';

/** One finding. */
export interface AuditIssue {
  readonly kind: AuditTamperKind;
  /** The 1-based line it concerns; for a removal, the line after the gap (lines + 1 at the end). */
  readonly line: number;
  /** The record's seq, or for a removal the first missing seq. */
  readonly seq?: number;
  /** What was found, naming lines and seqs, never event content. */
  readonly message: string;
}

/** The verdict on an audit file. */
export interface AuditVerification {
  readonly path: string;
  /** True when the chain is intact from seq 1 to its end (and matches `expectedHead`, when given). */
  readonly ok: boolean;
  /** Lines in the file. */
  readonly lines: number;
  /** Records on the chain. */
  readonly records: number;
  /** The chain's last seq and hash (0 and 64 zeros for an empty file). */
  readonly head: AuditChainHead;
  /** Findings, by line. */
  readonly issues: readonly AuditIssue[];
}

/** Options for {@link verifyAuditFile}. */
export interface VerifyAuditFileOptions {
  /**
   * A head recorded elsewhere earlier (`sink.head()`, or only its hash): lines cut from the end of the
   * file, which a hash chain alone cannot reveal, are then reported as `removed`, and a chain rewritten
   * up to that head as `edited`. Without its seq, a hash not found on the chain is reported as `removed`
   * (the two cannot be told apart).
   */
  readonly expectedHead?: AuditChainHead | { readonly seq?: undefined; readonly hash: string };
}

/**
 * Verifies a hash-chained audit file written by {@link AuditFileSink}: checks that each line is the
 * canonical serialization of its record (so a line has exactly one accepted form: no duplicate keys,
 * whitespace, needless `\u` escapes, CRLF or `95.0`) and carries its content's hash, follows the chain
 * from seq 1, and says which line was edited, removed, inserted or reordered. Reads the file as a stream;
 * its work grows as n log n with the number of lines, whatever they hold (a line nested deeper than 64
 * levels is not a record, so no line costs more than its length). Never returns event content.
 *
 * @throws CONFIG_INVALID (a directory, a missing file), ACCESS_DENIED or UNAVAILABLE when the file
 * cannot be read
 *
 * @example
 * ```ts
 * const result = await verifyAuditFile('audit/keyswitch.jsonl');
 * for (const issue of result.issues) console.error(`line ${issue.line}: ${issue.kind}: ${issue.message}`);
 * process.exitCode = result.ok ? 0 : 1;
 * ```
 */
export async function verifyAuditFile(
  path: string,
  options: VerifyAuditFileOptions = {},
): Promise<AuditVerification> {
  requireObject(options, 'verifyAuditFile options');
  const { lines, incompleteLast } = await readLines(requireString(path, 'the audit file path'));
  const { records, head, issues } = analyseChain(lines, incompleteLast, options.expectedHead);
  return { path, ok: issues.length === 0, lines: lines.length, records, head, issues };
}

/** One line as verification sees it: a record only when it parses as one; sound only when canonical. */
function readLine(number: number, bytes: Uint8Array): ChainLine {
  const text = decodeUtf8Strict(bytes);
  if (text === undefined) return notARecord(number);
  const record = parseRecordLine(text);
  if (!record) return notARecord(number);
  const expected = expectedRecord(record);
  const canonical = expected.line === text;
  const hashMatches = expected.hash === record.hash;
  return {
    line: number,
    seq: record.seq,
    prev: record.prev,
    hash: record.hash,
    canonical,
    hashMatches,
    valid: canonical && hashMatches,
  };
}

function notARecord(line: number): ChainLine {
  return {
    line,
    seq: undefined,
    prev: undefined,
    hash: undefined,
    canonical: false,
    hashMatches: false,
    valid: false,
  };
}

async function readLines(path: string): Promise<{ lines: ChainLine[]; incompleteLast: boolean }> {
  const lines: ChainLine[] = [];
  // The start of a line not yet ended, in pieces: joined once, at its newline (a long line costs its length).
  let pending: Buffer[] = [];
  const chunks = (createReadStream(path) as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  try {
    for (;;) {
      // Only reading is a file system error; what a line holds is judged by readLine, which never throws.
      const next = await chunks.next().catch((error: unknown) => {
        throw fileSystemError(error, { what: 'audit file', path, action: 'cannot be read' });
      });
      if (next.done) break;
      const chunk = next.value;
      let start = 0;
      for (let end = chunk.indexOf(0x0a); end !== -1; end = chunk.indexOf(0x0a, start)) {
        const piece = chunk.subarray(start, end);
        const bytes = pending.length > 0 ? Buffer.concat([...pending, piece]) : piece;
        pending = [];
        lines.push(readLine(lines.length + 1, bytes));
        start = end + 1;
      }
      if (start < chunk.length) pending.push(chunk.subarray(start));
    }
  } finally {
    await chunks.return?.();
  }
  if (pending.length > 0) lines.push(readLine(lines.length + 1, Buffer.concat(pending)));
  return { lines, incompleteLast: pending.length > 0 };
}
