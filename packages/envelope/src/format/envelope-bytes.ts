import {
  ENVELOPE_FORMAT_VERSION,
  ENVELOPE_MAGIC,
  type Envelope,
  FLAG_CONTEXT_STORED,
  IV_BYTES,
  TAG_BYTES,
} from './envelope.js';

/** Header bytes up to and including the key name: the part of the header the GCM additional data covers. */
function boundHeader(keyName: string, flags: number): Buffer {
  const name = Buffer.from(keyName, 'latin1');
  return Buffer.concat([ENVELOPE_MAGIC, Buffer.from([ENVELOPE_FORMAT_VERSION, flags, name.length]), name]);
}

/** The flags byte for an envelope. */
export function envelopeFlags(contextStored: boolean): number {
  return contextStored ? FLAG_CONTEXT_STORED : 0;
}

/** The GCM additional data: magic, version, flags, key name, then the canonical encryption context. */
export function additionalData(keyName: string, flags: number, canonicalContext: Uint8Array): Buffer {
  return Buffer.concat([boundHeader(keyName, flags), canonicalContext]);
}

/** Serialises envelope fields (already validated) into the binary format. */
export function serializeEnvelope(fields: {
  keyName: string;
  keyVersion: string;
  storedContext: Uint8Array | undefined;
  wrappedDataKey: Uint8Array;
  iv: Uint8Array;
  ciphertext: Uint8Array;
  tag: Uint8Array;
}): Uint8Array {
  const version = Buffer.from(fields.keyVersion, 'latin1');
  const parts: Uint8Array[] = [
    boundHeader(fields.keyName, envelopeFlags(fields.storedContext !== undefined)),
    Buffer.from([version.length]),
    version,
  ];
  if (fields.storedContext !== undefined) parts.push(u16(fields.storedContext.length), fields.storedContext);
  parts.push(u16(fields.wrappedDataKey.length), fields.wrappedDataKey);
  if (fields.iv.length !== IV_BYTES || fields.tag.length !== TAG_BYTES) throw new Error('bad IV or tag');
  parts.push(fields.iv, fields.ciphertext, fields.tag);
  return new Uint8Array(Buffer.concat(parts));
}

/** The same envelope under another key version and wrapped data key: the bulk ciphertext is unchanged. */
export function withWrappedKey(
  envelope: Envelope,
  storedContext: Uint8Array | undefined,
  keyVersion: string,
  wrappedDataKey: Uint8Array,
): Uint8Array {
  return serializeEnvelope({
    keyName: envelope.keyName,
    keyVersion,
    storedContext,
    wrappedDataKey,
    iv: envelope.iv,
    ciphertext: envelope.ciphertext,
    tag: envelope.tag,
  });
}

function u16(value: number): Buffer {
  const out = Buffer.alloc(2);
  out.writeUInt16BE(value);
  return out;
}
