import { createReadStream } from 'node:fs';
import { KeyswitchError } from '../errors.js';
import type { AuditChainHead } from './audit-file-sink.js';
import { GENESIS_HASH, parseRecordLine, recordHash } from './lib/audit-record.js';

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

interface Line {
  readonly line: number;
  readonly seq: number | undefined;
  readonly prev: string | undefined;
  readonly hash: string | undefined;
  readonly valid: boolean;
}
type RecordLine = Line & { readonly seq: number; readonly prev: string; readonly hash: string };

/**
 * Verifies a hash-chained audit file written by {@link AuditFileSink}: recomputes each line's hash,
 * follows the chain from seq 1, and says which line was edited, removed, inserted or reordered. Reads
 * the file as a stream; never returns event content.
 *
 * @throws CONFIG_INVALID when the file cannot be read
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
  const { lines, incompleteLast } = await readLines(path);
  const issues = new Map<string, AuditIssue>();
  const report = (issue: AuditIssue) => {
    const key = `${issue.line}:${issue.kind}`;
    if (!issues.has(key)) issues.set(key, issue);
  };
  const records = lines.filter((line): line is RecordLine => line.seq !== undefined);
  const byPrev = new Map<string, RecordLine[]>();
  for (const record of records) byPrev.set(record.prev, [...(byPrev.get(record.prev) ?? []), record]);
  const hasSuccessor = (record: RecordLine) =>
    (byPrev.get(record.hash) ?? []).some((next) => next.seq === record.seq + 1);

  // Follow the chain by its links (each line's prev is the stored hash of the line before).
  const chain: RecordLine[] = [];
  const onChain = new Set<RecordLine>();
  let hash = GENESIS_HASH;
  let seq = 0;
  for (;;) {
    const linked = (byPrev.get(hash) ?? []).filter((record) => !onChain.has(record));
    const rightSeq = linked.filter((record) => record.seq === seq + 1);
    let next = rightSeq.find(hasSuccessor) ?? rightSeq[0] ?? linked.find((record) => !record.valid);
    let nextSeq = seq + 1;
    if (next && next.seq !== seq + 1) {
      report({
        kind: 'edited',
        line: next.line,
        seq: next.seq,
        message: `line ${next.line} was edited: its seq is ${next.seq} where the chain expects ${seq + 1}`,
      });
    }
    if (!next) {
      // The link is broken: resume at the lowest seq beyond this point.
      next = records
        .filter((record) => !onChain.has(record) && record.seq > seq)
        .sort((a, b) => a.seq - b.seq || a.line - b.line)[0];
      if (!next) break;
      nextSeq = next.seq;
      const last = chain.at(-1);
      if (next.seq === seq + 1) {
        const edited = last ?? next;
        report({
          kind: 'edited',
          line: edited.line,
          seq: edited.seq,
          message: last
            ? `line ${last.line} (seq ${last.seq}) was edited: its hash was recomputed, but line ${next.line} (seq ${next.seq}) still links to the original`
            : `line ${next.line} (seq 1) was edited: it does not link to the start of the chain`,
        });
      } else {
        const after = last?.line ?? 0;
        const unreadable = lines.filter(
          (line) => line.seq === undefined && line.line > after && line.line < next!.line,
        );
        const missing = next.seq - seq - 1;
        if (unreadable.length === missing) {
          for (const line of unreadable) {
            report({
              kind: 'edited',
              line: line.line,
              seq: seq + 1 + unreadable.indexOf(line),
              message: `line ${line.line} was edited: it is no longer a valid audit record`,
            });
          }
        } else {
          report({
            kind: 'removed',
            line: next.line,
            seq: seq + 1,
            message: `${missing === 1 ? `seq ${seq + 1} is` : `seqs ${seq + 1} to ${next.seq - 1} are`} missing before line ${next.line}: ${missing} line${missing === 1 ? ' was' : 's were'} removed`,
          });
        }
      }
    }
    chain.push(next);
    onChain.add(next);
    hash = next.hash;
    seq = nextSeq;
  }

  for (const record of chain) {
    if (!record.valid) {
      report({
        kind: 'edited',
        line: record.line,
        seq: record.seq,
        message: `line ${record.line} (seq ${record.seq}) was edited: its content does not match its hash`,
      });
    }
  }
  const chainSeqs = new Set(chain.map((record) => record.seq));
  for (const line of lines) {
    if (
      onChain.has(line as RecordLine) ||
      [...issues.values()].some((issue) => issue.line === line.line && issue.kind === 'edited')
    )
      continue;
    if (line.line === lines.length && incompleteLast && line.seq === undefined) {
      report({
        kind: 'incomplete',
        line: line.line,
        message: `line ${line.line} is incomplete: the file ends in the middle of a record`,
      });
    } else if (line.seq === undefined) {
      report({
        kind: 'inserted',
        line: line.line,
        message: `line ${line.line} is not an audit record: inserted`,
      });
    } else {
      report({
        kind: 'inserted',
        line: line.line,
        seq: line.seq,
        message: `line ${line.line} (seq ${line.seq}) is not part of the chain${chainSeqs.has(line.seq) ? `, and repeats seq ${line.seq}` : ''}: inserted`,
      });
    }
  }
  // Chain records out of file order (by their place on the chain, whatever their seq fields say).
  const position = new Map(chain.map((record, index) => [record, index]));
  const inFileOrder = [...chain].sort((a, b) => a.line - b.line);
  for (let i = 1; i < inFileOrder.length; i++) {
    const before = inFileOrder[i - 1]!;
    const record = inFileOrder[i]!;
    if (position.get(record)! < position.get(before)!) {
      report({
        kind: 'reordered',
        line: record.line,
        seq: record.seq,
        message: `line ${record.line} (seq ${record.seq}) comes after line ${before.line} (seq ${before.seq}): lines are out of order`,
      });
    }
  }
  const last = chain.at(-1);
  const head = last ? { seq: last.seq, hash: last.hash } : { seq: 0, hash: GENESIS_HASH };
  const expected = options.expectedHead;
  if (expected && expected.seq === undefined) {
    if (expected.hash !== GENESIS_HASH && !chain.some((record) => record.hash === expected.hash)) {
      report({
        kind: 'removed',
        line: lines.length + 1,
        message: `the recorded head ${expected.hash.slice(0, 16)}… is not on the chain: lines were removed from the end, or the chain was rewritten`,
      });
    }
  } else if (expected) {
    const at = chain.find((record) => record.seq === expected.seq);
    if (expected.seq > head.seq) {
      report({
        kind: 'removed',
        line: lines.length + 1,
        seq: head.seq + 1,
        message: `the chain ends at seq ${head.seq} but had reached seq ${expected.seq}: lines were removed from the end`,
      });
    } else if (expected.seq > 0 && (!at || at.hash !== expected.hash)) {
      report({
        kind: 'edited',
        line: at?.line ?? lines.length + 1,
        seq: expected.seq,
        message: `seq ${expected.seq} does not have the hash recorded for it: the chain was rewritten`,
      });
    }
  }
  const sorted = [...issues.values()].sort((a, b) => a.line - b.line);
  return { path, ok: sorted.length === 0, lines: lines.length, records: chain.length, head, issues: sorted };
}

async function readLines(path: string): Promise<{ lines: Line[]; incompleteLast: boolean }> {
  const lines: Line[] = [];
  let rest = '';
  const add = (text: string) => {
    const number = lines.length + 1;
    const record = parseRecordLine(text);
    lines.push(
      record
        ? {
            line: number,
            seq: record.seq,
            prev: record.prev,
            hash: record.hash,
            valid: record.hash === recordHash(record.seq, record.prev, record.event),
          }
        : { line: number, seq: undefined, prev: undefined, hash: undefined, valid: false },
    );
  };
  try {
    for await (const chunk of createReadStream(path, { encoding: 'utf8' })) {
      const parts = (rest + chunk).split('\n');
      rest = parts.pop()!;
      for (const part of parts) add(part);
    }
  } catch (error) {
    throw new KeyswitchError(
      'CONFIG_INVALID',
      `audit file ${path} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
      { cause: error },
    );
  }
  if (rest.length > 0) add(rest);
  return { lines, incompleteLast: rest.length > 0 };
}
