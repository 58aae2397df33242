import type { AuditChainHead } from '../audit-file-sink.js';
import type { AuditIssue } from '../verify-audit-file.js';
import { GENESIS_HASH } from './audit-record.js';

/** One line of an audit file as verification sees it. */
export interface ChainLine {
  /** 1-based line number. */
  readonly line: number;
  /** Undefined when the line is not a record at all. */
  readonly seq: number | undefined;
  readonly prev: string | undefined;
  readonly hash: string | undefined;
  /** The line is the canonical serialization of its record. */
  readonly canonical: boolean;
  /** The hash it carries is the hash of its content. */
  readonly hashMatches: boolean;
  /** Canonical, and its hash matches its content. */
  readonly valid: boolean;
}
type RecordLine = ChainLine & { readonly seq: number; readonly prev: string; readonly hash: string };

/** The chain found in a file's lines. */
export interface ChainAnalysis {
  readonly records: number;
  readonly head: AuditChainHead;
  /** Findings sorted by line. */
  readonly issues: AuditIssue[];
}

/** Counts the steps an analysis takes, so tests can show it is linear on any input. */
export interface WorkMeter {
  steps: number;
}

/**
 * Follows the hash chain through a file's lines and reports what was edited, removed, inserted or
 * reordered. Every structure is indexed (maps by link and by prev, one cursor over the records by seq),
 * so that each line is looked at a bounded number of times, whatever the file holds: the work is
 * O(n log n) in the number of lines. The log comes from two places: the one sort by seq (and the one by
 * line, for the order check), and, at worst, the path-compressed skip pointers over unreadable lines
 * (path compression without union by rank is O(log n) amortized per lookup in the worst case; their
 * links only ever point forward, and in the shapes the tests measure each lookup costs a step or two).
 * `meter` counts every step but the sorts, and grows linearly; the chain walk never revisits a link,
 * because the seq it expects only grows.
 */
export function analyseChain(
  lines: readonly ChainLine[],
  incompleteLast: boolean,
  expected: AuditChainHead | { readonly seq?: undefined; readonly hash: string } | undefined,
  meter: WorkMeter = { steps: 0 },
): ChainAnalysis {
  const issues = new Map<string, AuditIssue>();
  const editedLines = new Set<number>();
  const report = (issue: AuditIssue) => {
    meter.steps++;
    const key = `${issue.line}:${issue.kind}`;
    if (!issues.has(key)) issues.set(key, issue);
    if (issue.kind === 'edited') editedLines.add(issue.line);
  };
  const records = lines.filter((line): line is RecordLine => line.seq !== undefined);
  meter.steps += lines.length;

  // Records by (prev, seq): the candidates for the next link. Invalid records by prev, in file order.
  const byLink = new Map<string, RecordLine[]>();
  const invalidByPrev = new Map<string, { records: RecordLine[]; next: number }>();
  for (const record of records) {
    meter.steps++;
    const key = linkKey(record.prev, record.seq);
    const list = byLink.get(key);
    if (list) list.push(record);
    else byLink.set(key, [record]);
    if (!record.valid) {
      const invalid = invalidByPrev.get(record.prev);
      if (invalid) invalid.records.push(record);
      else invalidByPrev.set(record.prev, { records: [record], next: 0 });
    }
  }
  const hasSuccessor = (record: RecordLine) => byLink.has(linkKey(record.hash, record.seq + 1));
  const onChain = new Set<RecordLine>();
  /** The first invalid record linked to `hash` not yet on the chain (each list is walked once). */
  const nextInvalid = (hash: string): RecordLine | undefined => {
    const invalid = invalidByPrev.get(hash);
    if (!invalid) return undefined;
    while (invalid.next < invalid.records.length && onChain.has(invalid.records[invalid.next]!)) {
      meter.steps++;
      invalid.next++;
    }
    return invalid.records[invalid.next];
  };
  // For resuming after a break: records by seq, walked by one cursor (the chain's seq only grows).
  const bySeq = [...records].sort((a, b) => a.seq - b.seq || a.line - b.line);
  let resume = 0;
  // Lines that are not records: how many lie before each line, and which are not yet reported.
  const unreadable = lines.filter((line) => line.seq === undefined).map((line) => line.line);
  const unreadableBefore = new Uint32Array(lines.length + 2);
  for (let i = 0, count = 0; i <= lines.length; i++) {
    unreadableBefore[i + 1] = count;
    if (i < lines.length && lines[i]!.seq === undefined) count++;
  }
  const skip = new Int32Array(unreadable.length + 1).map((_, index) => index); // next unreported index
  const firstUnreported = (index: number): number => {
    let root = index;
    while (skip[root] !== root) {
      meter.steps++;
      root = skip[root]!;
    }
    for (let at = index; skip[at] !== root; ) {
      const following = skip[at]!;
      skip[at] = root;
      at = following;
    }
    return root;
  };

  const chain: RecordLine[] = [];
  let hash = GENESIS_HASH;
  let seq = 0;
  for (;;) {
    meter.steps++;
    const rightSeq = (byLink.get(linkKey(hash, seq + 1)) ?? []).filter((record) => !onChain.has(record));
    meter.steps += rightSeq.length;
    let next = rightSeq.find(hasSuccessor) ?? rightSeq[0] ?? nextInvalid(hash);
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
      while (resume < bySeq.length && (onChain.has(bySeq[resume]!) || bySeq[resume]!.seq <= seq)) {
        meter.steps++;
        resume++;
      }
      next = bySeq[resume];
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
        const between =
          next.line > after + 1 ? unreadableBefore[next.line]! - unreadableBefore[after + 1]! : 0;
        const missing = next.seq - seq - 1;
        if (between === missing) {
          // As many unreadable lines as missing seqs: those lines were edited out of shape.
          const start = lowerBound(unreadable, after + 1);
          for (let index = firstUnreported(start); index < start + between; ) {
            const line = unreadable[index]!;
            report({
              kind: 'edited',
              line,
              seq: seq + 1 + (index - start),
              message: `line ${line} was edited: it is no longer a valid audit record`,
            });
            skip[index] = index + 1;
            index = firstUnreported(index + 1);
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
    meter.steps++;
    if (!record.valid) {
      report({
        kind: 'edited',
        line: record.line,
        seq: record.seq,
        message: !record.hashMatches
          ? `line ${record.line} (seq ${record.seq}) was edited: its content does not match its hash`
          : `line ${record.line} (seq ${record.seq}) was edited: it is not the canonical serialization of its record`,
      });
    }
  }
  const chainSeqs = new Set(chain.map((record) => record.seq));
  for (const line of lines) {
    meter.steps++;
    if (onChain.has(line as RecordLine) || editedLines.has(line.line)) continue;
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
    meter.steps++;
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
  return { records: chain.length, head, issues: sorted };
}

function linkKey(prev: string, seq: number): string {
  return `${prev}/${seq}`;
}

/** The first index of a sorted array whose value is at least `value`. */
function lowerBound(sorted: readonly number[], value: number): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (sorted[middle]! < value) low = middle + 1;
    else high = middle;
  }
  return low;
}
