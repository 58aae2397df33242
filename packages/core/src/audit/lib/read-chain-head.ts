import type { FileHandle } from 'node:fs/promises';
import { KeyswitchError } from '../../errors.js';
import { fileSystemError } from '../../lib/file-system-error.js';
import { GENESIS_HASH, parseRecordLine, recordHash } from './audit-record.js';

/**
 * The last record's seq and hash, read from the end of the file, and the file's length once its end is
 * settled. A last line without its newline (a
 * write cut short by a crash) is completed when it is a whole valid record, and otherwise cut off when it
 * starts like a record after a valid one: it was never acknowledged as written. Any other ending is left
 * untouched and refused, so a file that is not an audit trail never loses a line.
 *
 * @throws CONFIG_INVALID when the last complete line is not a valid record; what `fileSystemError` makes
 * of a failed read, write or sync (only those: a line that does not parse is never a file system error)
 */
export async function readChainHead(
  handle: FileHandle,
  path: string,
): Promise<{ seq: number; hash: string; size: number }> {
  const io = <T>(operation: Promise<T>): Promise<T> =>
    operation.catch((error: unknown) => {
      throw fileSystemError(error, { what: 'audit file', path, action: 'cannot be read' });
    });
  let size = (await io(handle.stat())).size;
  if (size === 0) return { seq: 0, hash: GENESIS_HASH, size };
  let chunk = 64 * 1024;
  for (;;) {
    const start = Math.max(0, size - chunk);
    const buffer = Buffer.alloc(size - start);
    await io(handle.read(buffer, 0, buffer.length, start));
    let end = buffer.length;
    if (buffer[end - 1] !== 0x0a) {
      const lastNewline = buffer.lastIndexOf(0x0a);
      if (lastNewline < 0 && start > 0) {
        chunk *= 4;
        continue;
      }
      const tail = parseRecordLine(buffer.subarray(lastNewline + 1).toString('utf8'));
      if (tail && tail.hash === recordHash(tail.seq, tail.prev, tail.event)) {
        // Complete but for its newline: keep it.
        await io(handle.write('\n', size));
        await io(handle.datasync());
        return { seq: tail.seq, hash: tail.hash, size: size + 1 };
      }
      // Cut off only what is surely a torn record after a sound chain; anything else is not ours to cut.
      const torn = buffer.subarray(lastNewline + 1).toString('utf8');
      // Canonical lines start with the event; lines of earlier versions started with the seq.
      if (!torn.startsWith('{"event":') && !torn.startsWith('{"seq":')) {
        throw notAChain(path, 'ends with a partial line that is not an audit record');
      }
      if (lastNewline >= 0) {
        const previousStart = buffer.lastIndexOf(0x0a, lastNewline - 1) + 1;
        if (previousStart === 0 && start > 0) {
          chunk *= 4;
          continue;
        }
        const previous = parseRecordLine(buffer.subarray(previousStart, lastNewline).toString('utf8'));
        if (!previous || previous.hash !== recordHash(previous.seq, previous.prev, previous.event)) {
          throw notAChain(path, 'does not end with a valid chained record');
        }
      }
      size = start + lastNewline + 1;
      await io(handle.truncate(size));
      await io(handle.datasync());
      if (size === 0) return { seq: 0, hash: GENESIS_HASH, size };
      end = lastNewline + 1;
    }
    const lineStart = buffer.lastIndexOf(0x0a, end - 2) + 1;
    if (lineStart === 0 && start > 0) {
      chunk *= 4;
      continue;
    }
    const record = parseRecordLine(buffer.subarray(lineStart, end - 1).toString('utf8'));
    if (!record || record.hash !== recordHash(record.seq, record.prev, record.event)) {
      throw notAChain(path, 'does not end with a valid chained record');
    }
    return { seq: record.seq, hash: record.hash, size };
  }
}

function notAChain(path: string, what: string): KeyswitchError {
  return new KeyswitchError(
    'CONFIG_INVALID',
    `audit file ${path} ${what}; check it with verifyAuditFile and move it aside`,
  );
}
