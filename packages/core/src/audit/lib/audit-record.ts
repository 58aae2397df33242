import { createHash } from 'node:crypto';
import { canonicalizable, canonicalJson, MAX_RECORD_DEPTH } from './canonical-json.js';

/** How deep an event may nest: one level less than its record. */
const MAX_EVENT_DEPTH = MAX_RECORD_DEPTH - 1;

/** The `prev` of the first record: 64 zeros. */
export const GENESIS_HASH = '0'.repeat(64);

/** One line of the audit file. */
export interface AuditRecord {
  /** 1 for the first line, then +1 per line. */
  readonly seq: number;
  /** The previous line's `hash` (`GENESIS_HASH` for the first). */
  readonly prev: string;
  /** The event, as given (plain JSON). */
  readonly event: Readonly<Record<string, unknown>>;
  /** SHA-256 (hex) of the canonical JSON of `{ event, prev, seq }`. */
  readonly hash: string;
}

/**
 * The hash a record must carry: SHA-256 of `{"event":…,"prev":"…","seq":n}` in canonical JSON.
 *
 * @throws INVALID_INPUT when the event nests deeper than a record may
 */
export function recordHash(seq: number, prev: string, event: unknown): string {
  return hashOfCanonicalEvent(seq, prev, canonicalJson(event, MAX_EVENT_DEPTH));
}

function hashOfCanonicalEvent(seq: number, prev: string, eventJson: string): string {
  return createHash('sha256')
    .update(`{"event":${eventJson},"prev":${JSON.stringify(prev)},"seq":${seq}}`, 'utf8')
    .digest('hex');
}

/**
 * What a parsed line should have been: its canonical line (the canonical JSON of the whole record) and
 * the hash its content gives. A line is sound when it equals the first and carries the second.
 */
export function expectedRecord(record: AuditRecord): { readonly line: string; readonly hash: string } {
  const eventJson = canonicalJson(record.event, MAX_EVENT_DEPTH);
  return {
    line: `{"event":${eventJson},"hash":${JSON.stringify(record.hash)},"prev":${JSON.stringify(record.prev)},"seq":${record.seq}}`,
    hash: hashOfCanonicalEvent(record.seq, record.prev, eventJson),
  };
}

const HEX64 = /^[0-9a-f]{64}$/;

/**
 * Parses one line into a record's fields, or `undefined` when it is not a record's shape, or cannot be
 * canonicalized: it nests deeper than {@link MAX_RECORD_DEPTH} levels, or holds a number too large for
 * a double (no record the sink writes does; such a line was edited).
 */
export function parseRecordLine(line: string): AuditRecord | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const { seq, prev, event, hash } = value as Record<string, unknown>;
  if (Object.keys(value).length !== 4) return undefined;
  if (!Number.isSafeInteger(seq) || (seq as number) < 1) return undefined;
  if (typeof prev !== 'string' || !HEX64.test(prev) || typeof hash !== 'string' || !HEX64.test(hash)) {
    return undefined;
  }
  if (typeof event !== 'object' || event === null || Array.isArray(event)) return undefined;
  if (!canonicalizable(event, MAX_EVENT_DEPTH)) return undefined;
  return { seq: seq as number, prev, event: event as Record<string, unknown>, hash };
}

/**
 * The line for a record (no newline): the canonical JSON of the whole record, so keys sorted
 * (`event`, `hash`, `prev`, `seq`, and the event's own keys), no whitespace, one form per string and
 * number. Exactly one line represents a record.
 */
export function formatRecordLine(record: AuditRecord): string {
  return canonicalJson({ event: record.event, hash: record.hash, prev: record.prev, seq: record.seq });
}
