import {
  COMMITMENT_BYTES,
  ENVELOPE_FORMAT_VERSION,
  ENVELOPE_MAGIC,
  type Envelope,
  FLAG_CONTEXT_STORED,
  IV_BYTES,
  LEGACY_FORMAT_VERSION,
  SALT_BYTES,
  TAG_BYTES,
  type WrappedDataKey,
} from './envelope.js';

/** Header bytes up to and including the key name: the start of the GCM additional data. */
function boundHeader(keyName: string, flags: number, formatVersion: number): Buffer {
  const name = Buffer.from(keyName, 'latin1');
  return Buffer.concat([ENVELOPE_MAGIC, Buffer.from([formatVersion, flags, name.length]), name]);
}

/** The flags byte for an envelope. */
export function envelopeFlags(contextStored: boolean): number {
  return contextStored ? FLAG_CONTEXT_STORED : 0;
}

/** Format 1's GCM additional data: magic, version, flags, key name, then the canonical encryption context. */
export function legacyAdditionalData(keyName: string, flags: number, canonicalContext: Uint8Array): Buffer {
  return Buffer.concat([boundHeader(keyName, flags, LEGACY_FORMAT_VERSION), canonicalContext]);
}

/** Format 2's GCM additional data: format 1's, then the salt and the commitment. */
export function additionalData(
  keyName: string,
  flags: number,
  canonicalContext: Uint8Array,
  salt: Uint8Array,
  commitment: Uint8Array,
): Buffer {
  return Buffer.concat([
    boundHeader(keyName, flags, ENVELOPE_FORMAT_VERSION),
    canonicalContext,
    salt,
    commitment,
  ]);
}

/** Serialises format 2 envelope fields (already validated) into bytes. */
export function serializeEnvelope(fields: {
  keyName: string;
  storedContext: Uint8Array | undefined;
  salt: Uint8Array;
  commitment: Uint8Array;
  wrappedKeys: readonly WrappedDataKey[];
  iv: Uint8Array;
  ciphertext: Uint8Array;
  tag: Uint8Array;
}): Uint8Array {
  if (fields.salt.length !== SALT_BYTES || fields.commitment.length !== COMMITMENT_BYTES) {
    throw new Error('bad salt or commitment length');
  }
  const parts: Uint8Array[] = [
    boundHeader(fields.keyName, envelopeFlags(fields.storedContext !== undefined), ENVELOPE_FORMAT_VERSION),
  ];
  if (fields.storedContext !== undefined) parts.push(u16(fields.storedContext.length), fields.storedContext);
  parts.push(fields.salt, fields.commitment, Buffer.from([fields.wrappedKeys.length]));
  for (const entry of fields.wrappedKeys) {
    const id = Buffer.from(entry.keyVersion, 'latin1');
    parts.push(Buffer.from([id.length]), id, u16(entry.wrappedDataKey.length), entry.wrappedDataKey);
  }
  return withBody(parts, fields);
}

/**
 * Serialises format 1 envelope fields. Nothing in the package writes format 1 any more; this exists so
 * that tests can make the envelopes older releases wrote.
 */
export function serializeLegacyEnvelope(fields: {
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
    boundHeader(fields.keyName, envelopeFlags(fields.storedContext !== undefined), LEGACY_FORMAT_VERSION),
    Buffer.from([version.length]),
    version,
  ];
  if (fields.storedContext !== undefined) parts.push(u16(fields.storedContext.length), fields.storedContext);
  parts.push(u16(fields.wrappedDataKey.length), fields.wrappedDataKey);
  return withBody(parts, fields);
}

/** The same format 2 envelope with other wrapped data keys: salt, commitment and ciphertext unchanged. */
export function withWrappedKeys(
  envelope: Envelope,
  storedContext: Uint8Array | undefined,
  wrappedKeys: readonly WrappedDataKey[],
): Uint8Array {
  return serializeEnvelope({
    keyName: envelope.keyName,
    storedContext,
    salt: envelope.salt!,
    commitment: envelope.commitment!,
    wrappedKeys,
    iv: envelope.iv,
    ciphertext: envelope.ciphertext,
    tag: envelope.tag,
  });
}

function withBody(
  parts: Uint8Array[],
  body: { iv: Uint8Array; ciphertext: Uint8Array; tag: Uint8Array },
): Uint8Array {
  if (body.iv.length !== IV_BYTES || body.tag.length !== TAG_BYTES) throw new Error('bad IV or tag');
  parts.push(body.iv, body.ciphertext, body.tag);
  return new Uint8Array(Buffer.concat(parts));
}

function u16(value: number): Buffer {
  const out = Buffer.alloc(2);
  out.writeUInt16BE(value);
  return out;
}
