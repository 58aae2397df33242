/**
 * The raw baseline of envelope encryption: what an application would write by hand with node:crypto
 * around a data key it got once from the backend. Per record: AES-256-GCM with the key name and context
 * as additional data, and a self-describing blob (header, wrapped key, IV, ciphertext, tag); to open,
 * the data key is found in a Map by its wrapped form. No validation, no versions, no zeroing: the floor
 * keyswitch's envelope package is compared with.
 */
import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';

const IV = 12;
const TAG = 16;

/**
 * @param {{ dataKey: Uint8Array, wrapped: Uint8Array, keyName: string, context: Record<string, string> }} setup
 */
export function rawEnvelope(setup) {
  const header = Buffer.from(`KSEN\u0001\u0000${setup.keyName}`, 'latin1');
  const aad = Buffer.concat([header, Buffer.from(JSON.stringify(setup.context))]);
  const wrapped = Buffer.from(setup.wrapped);
  const dataKey = Buffer.from(setup.dataKey);
  const keys = new Map([[wrapped.toString('base64'), dataKey]]);
  const length = Buffer.alloc(2);
  length.writeUInt16BE(wrapped.length);
  return {
    /** @param {Uint8Array} record */
    encrypt(record) {
      const iv = randomBytes(IV);
      const cipher = createCipheriv('aes-256-gcm', dataKey, iv, { authTagLength: TAG });
      cipher.setAAD(aad);
      const body = Buffer.concat([cipher.update(record), cipher.final()]);
      return Buffer.concat([header, length, wrapped, iv, body, cipher.getAuthTag()]);
    },
    /** @param {Buffer} blob */
    decrypt(blob) {
      let offset = header.length;
      const size = blob.readUInt16BE(offset);
      offset += 2;
      const key = keys.get(blob.subarray(offset, offset + size).toString('base64'));
      if (!key) throw new Error('unknown data key');
      offset += size;
      const iv = blob.subarray(offset, offset + IV);
      const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG });
      decipher.setAAD(aad);
      decipher.setAuthTag(blob.subarray(blob.length - TAG));
      return Buffer.concat([
        decipher.update(blob.subarray(offset + IV, blob.length - TAG)),
        decipher.final(),
      ]);
    },
  };
}

/**
 * A format 1 envelope (what keyswitch wrote before key commitment), made by hand as the envelope README
 * lays it out, so that the bench can time keyswitch opening format 2 against format 1 in the same run.
 *
 * @param {{ dataKey: Uint8Array, wrapped: Uint8Array, keyName: string, context: Record<string, string>, record: Uint8Array }} setup
 */
export function formatOneEnvelope(setup) {
  const name = Buffer.from(setup.keyName, 'latin1');
  const header = Buffer.concat([Buffer.from('KSEN'), Buffer.from([1, 0, name.length]), name]);
  // The canonical context: pairs sorted by key bytes, each key and value as a 4-byte length and UTF-8.
  const pairs = Object.entries(setup.context)
    .map(([key, value]) => [Buffer.from(key), Buffer.from(value)])
    .sort(([a], [b]) => Buffer.compare(a, b));
  const context = Buffer.concat(
    pairs.flatMap(([key, value]) => [u32(key.length), key, u32(value.length), value]),
  );
  const iv = randomBytes(IV);
  const cipher = createCipheriv('aes-256-gcm', setup.dataKey, iv, { authTagLength: TAG });
  cipher.setAAD(Buffer.concat([header, context]));
  const body = Buffer.concat([cipher.update(setup.record), cipher.final()]);
  const wrapped = Buffer.from(setup.wrapped);
  const length = Buffer.alloc(2);
  length.writeUInt16BE(wrapped.length);
  return Buffer.concat([
    header,
    Buffer.from([1]),
    Buffer.from('1'),
    length,
    wrapped,
    iv,
    body,
    cipher.getAuthTag(),
  ]);
}

function u32(value) {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(value);
  return out;
}

/**
 * Format 2's sealing by hand: the key schedule (HKDF-SHA-512 to an AES-256-GCM key and a commitment) runs
 * once for the data key, as keyswitch's cache runs it once per cached key; each record then costs format
 * 1's work plus the 64 bytes of salt and commitment in the header and the additional data. Timed against
 * {@link rawEnvelope} (format 1 by hand) to show what key commitment costs per record.
 *
 * @param {{ dataKey: Uint8Array, wrapped: Uint8Array, keyName: string, context: Record<string, string> }} setup
 */
export function rawCommittedEnvelope(setup) {
  const name = Buffer.from(setup.keyName, 'latin1');
  const header = Buffer.concat([Buffer.from('KSEN'), Buffer.from([2, 0, name.length]), name]);
  const context = Buffer.from(JSON.stringify(setup.context));
  const salt = randomBytes(32);
  const bound = createHash('sha512')
    .update(Buffer.from([name.length]))
    .update(name)
    .update(context)
    .digest();
  const info = Buffer.concat([
    Buffer.from('keyswitch envelope v2: AES-256-GCM key and key commitment\0'),
    bound,
  ]);
  const schedule = Buffer.from(hkdfSync('sha512', setup.dataKey, salt, info, 64));
  const key = schedule.subarray(0, 32);
  const commitment = schedule.subarray(32);
  const aad = Buffer.concat([header, context, salt, commitment]);
  const wrapped = Buffer.from(setup.wrapped);
  const length = Buffer.alloc(2);
  length.writeUInt16BE(wrapped.length);
  const fixed = Buffer.concat([
    header,
    salt,
    commitment,
    Buffer.from([1, 1]),
    Buffer.from('1'),
    length,
    wrapped,
  ]);
  return {
    /** @param {Uint8Array} record */
    encrypt(record) {
      const iv = randomBytes(IV);
      const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG });
      cipher.setAAD(aad);
      const body = Buffer.concat([cipher.update(record), cipher.final()]);
      return Buffer.concat([fixed, iv, body, cipher.getAuthTag()]);
    },
  };
}
