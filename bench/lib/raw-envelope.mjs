/**
 * The raw baseline of envelope encryption: what an application would write by hand with node:crypto
 * around a data key it got once from the backend. Per record: AES-256-GCM with the key name and context
 * as additional data, and a self-describing blob (header, wrapped key, IV, ciphertext, tag); to open,
 * the data key is found in a Map by its wrapped form. No validation, no versions, no zeroing: the floor
 * keyswitch's envelope package is compared with.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

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
