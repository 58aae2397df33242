import { type BaseBlock, BitString, Integer, Null, ObjectIdentifier, OctetString, Sequence } from 'asn1js';

/** Test-only DER builders for malformed structures the library must refuse. */
export const der = {
  seq: (...value: BaseBlock[]) => new Sequence({ value }),
  oid: (value: string) => new ObjectIdentifier({ value }),
  null: () => new Null(),
  /** An INTEGER with exactly these content bytes (two's complement, not normalised). */
  int: (content: Uint8Array | number[]) => new Integer({ valueHex: new Uint8Array(content) }),
  bits: (content: Uint8Array, unusedBits = 0) => new BitString({ valueHex: content, unusedBits }),
  octets: (content: Uint8Array) => new OctetString({ valueHex: content }),
  encode: (block: BaseBlock) => new Uint8Array(block.toBER(false)),
};

export const OID = {
  rsaEncryption: '1.2.840.113549.1.1.1',
  ecPublicKey: '1.2.840.10045.2.1',
  p256: '1.2.840.10045.3.1.7',
} as const;
