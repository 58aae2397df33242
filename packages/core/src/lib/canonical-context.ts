import { invalidInput } from '../errors.js';
import type { EncryptionContext } from '../provider/contract.js';
import { requireObject } from './argument-shape.js';

/**
 * The encryption context as canonical bytes: entries sorted by key (UTF-8 byte order), each as
 * length-prefixed UTF-8 key and value. Equal contexts give equal bytes whatever the key order.
 */
export function canonicalContext(context: EncryptionContext | undefined): Uint8Array {
  if (context === undefined) return new Uint8Array(0);
  requireObject(context, 'the encryption context');
  const entries = Object.entries(context).sort(([a], [b]) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  const parts: Buffer[] = [];
  for (const [key, value] of entries) {
    if (typeof value !== 'string')
      throw invalidInput(`encryption context value for "${key}" must be a string`);
    for (const text of [key, value]) {
      const bytes = Buffer.from(text, 'utf8');
      const length = Buffer.alloc(4);
      length.writeUInt32BE(bytes.byteLength);
      parts.push(length, bytes);
    }
  }
  return new Uint8Array(Buffer.concat(parts));
}
