import { createHash } from 'node:crypto';

/** A compact cache key for a tuple of strings and byte strings (length-prefixed, then SHA-256). */
export function partitionKey(...parts: readonly (string | Uint8Array)[]): string {
  const hash = createHash('sha256');
  const length = Buffer.alloc(4);
  for (const part of parts) {
    const bytes = typeof part === 'string' ? Buffer.from(part, 'utf8') : part;
    length.writeUInt32BE(bytes.length);
    hash.update(length);
    hash.update(bytes);
  }
  return hash.digest('base64');
}
