import { createPrivateKey } from 'node:crypto';
import { isKeySpec, isKeyUsage, keySpecInfo, wipeBytes } from '@keyswitch/core';
import { asymmetricMaterial, secretMaterial } from './key-material.js';
import type { KeyRecord } from './key-record.js';

/**
 * The plaintext of a keystore: the key set, serialized so that key bytes never become JavaScript strings.
 *
 * ```
 * u32 big-endian m | m bytes of UTF-8 JSON metadata | key material, each key's bytes in order
 * ```
 *
 * The metadata is `{"version":1,"keys":[{id, label?, spec, usage, state, origin, createdAt,
 * deletionDate?, description?, tags?, format: "pkcs8" | "raw", length}]}`: private keys are DER PKCS#8,
 * secret keys their raw bytes.
 */
interface StoredKeyMetadata {
  id: string;
  label?: string;
  spec: string;
  usage: string;
  state: string;
  origin: string;
  createdAt: string;
  deletionDate?: string;
  description?: string;
  tags?: Record<string, string>;
  format: 'pkcs8' | 'raw';
  length: number;
}

/** Serializes a key set. The caller wipes the result once it is encrypted. */
export function encodeKeySet(records: readonly KeyRecord[]): Buffer {
  const blobs: Buffer[] = [];
  const keys: StoredKeyMetadata[] = records.map((record) => {
    const blob =
      record.material.kind === 'asymmetric'
        ? record.material.privateKey.export({ format: 'der', type: 'pkcs8' })
        : record.material.bytes;
    if (record.material.kind === 'asymmetric') blobs.push(blob);
    else blobs.push(Buffer.from(blob)); // a copy, so wiping the parts below leaves the live key intact
    return {
      id: record.id,
      ...(record.label === undefined ? {} : { label: record.label }),
      spec: record.spec,
      usage: record.usage,
      state: record.state,
      origin: record.origin,
      createdAt: record.createdAt.toISOString(),
      ...(record.deletionDate === undefined ? {} : { deletionDate: record.deletionDate.toISOString() }),
      ...(record.description === undefined ? {} : { description: record.description }),
      ...(record.tags === undefined ? {} : { tags: { ...record.tags } }),
      format: record.material.kind === 'asymmetric' ? 'pkcs8' : 'raw',
      length: blob.length,
    };
  });
  const metadata = Buffer.from(JSON.stringify({ version: 1, keys }), 'utf8');
  const length = Buffer.alloc(4);
  length.writeUInt32BE(metadata.length);
  const encoded = Buffer.concat([length, metadata, ...blobs]);
  for (const blob of blobs) wipeBytes(blob);
  return encoded;
}

/** Reads a key set serialized by {@link encodeKeySet}. Throws a plain Error when it is malformed. */
export function decodeKeySet(plaintext: Buffer): KeyRecord[] {
  const metadataLength = plaintext.readUInt32BE(0);
  const metadata = JSON.parse(plaintext.subarray(4, 4 + metadataLength).toString('utf8')) as {
    version: number;
    keys: StoredKeyMetadata[];
  };
  if (metadata.version !== 1 || !Array.isArray(metadata.keys)) throw new Error('unknown key set version');
  let offset = 4 + metadataLength;
  return metadata.keys.map((key) => {
    const blob = plaintext.subarray(offset, offset + key.length);
    offset += key.length;
    if (blob.length !== key.length || !isKeySpec(key.spec) || !isKeyUsage(key.usage)) {
      throw new Error('malformed key');
    }
    if (key.state !== 'ENABLED' && key.state !== 'DISABLED' && key.state !== 'PENDING_DELETION') {
      throw new Error('malformed key state');
    }
    const asymmetric = keySpecInfo(key.spec).family === 'RSA' || keySpecInfo(key.spec).family === 'EC';
    if (asymmetric !== (key.format === 'pkcs8')) throw new Error('malformed key format');
    const material = asymmetric
      ? asymmetricMaterial(createPrivateKey({ key: blob, format: 'der', type: 'pkcs8' }))
      : secretMaterial(copyToOwnBuffer(blob));
    return {
      id: key.id,
      ...(key.label === undefined ? {} : { label: key.label }),
      spec: key.spec,
      usage: key.usage,
      state: key.state,
      origin: key.origin === 'IMPORTED' ? 'IMPORTED' : 'GENERATED',
      createdAt: new Date(key.createdAt),
      ...(key.deletionDate === undefined ? {} : { deletionDate: new Date(key.deletionDate) }),
      ...(key.description === undefined ? {} : { description: key.description }),
      ...(key.tags === undefined ? {} : { tags: key.tags }),
      material,
    } satisfies KeyRecord;
  });
}

function copyToOwnBuffer(bytes: Buffer): Buffer {
  const copy = Buffer.alloc(bytes.length);
  bytes.copy(copy);
  return copy;
}
