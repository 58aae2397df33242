import { KeyswitchError } from '../../errors.js';

/** The largest PKCS#12 file read, in bytes: a key with a long certificate chain is a few kilobytes. */
export const MAX_PKCS12_BYTES = 65_536;

function unreadable(): KeyswitchError {
  // Never pass node-forge's error on: its details can quote the input.
  return new KeyswitchError(
    'INVALID_INPUT',
    'cannot read the PKCS#12: wrong password, or not a PKCS#12 file',
  );
}

/**
 * The single private key in a PKCS#12 file, as DER PKCS#8. node-forge is loaded on first use only: it is
 * the one dependency that reads PKCS#12 (password-based MACs and PBES1/PBES2 bag encryption), which
 * node:crypto cannot do.
 *
 * @throws INVALID_INPUT for a wrong password, a malformed file, or a file holding no key or several
 */
export async function readPkcs12PrivateKey(data: Uint8Array, password: string): Promise<Buffer> {
  if (!(data instanceof Uint8Array) || typeof password !== 'string') {
    throw new KeyswitchError('INVALID_INPUT', 'pkcs12 must be { data: Uint8Array, password: string }');
  }
  if (data.byteLength === 0 || data.byteLength > MAX_PKCS12_BYTES) {
    throw new KeyswitchError(
      'INVALID_INPUT',
      `pkcs12 data must be 1 to ${MAX_PKCS12_BYTES} bytes, got ${data.byteLength}`,
    );
  }
  const { default: forge } = await import('node-forge');
  let pfx: ReturnType<typeof forge.pkcs12.pkcs12FromAsn1>;
  try {
    const asn1 = forge.asn1.fromDer(forge.util.createBuffer(Buffer.from(data).toString('binary')));
    pfx = forge.pkcs12.pkcs12FromAsn1(asn1, password);
  } catch {
    throw unreadable();
  }
  const { keyBag, pkcs8ShroudedKeyBag } = forge.pki.oids;
  const bags = [keyBag!, pkcs8ShroudedKeyBag!].flatMap((bagType) => pfx.getBags({ bagType })[bagType] ?? []);
  if (bags.length !== 1) {
    throw new KeyswitchError(
      'INVALID_INPUT',
      `the PKCS#12 must hold exactly one private key, it holds ${bags.length}`,
    );
  }
  const bag = bags[0]!;
  // forge decodes RSA keys into objects and leaves other keys (EC) as their PrivateKeyInfo ASN.1.
  const privateKeyInfo = bag.key
    ? forge.pki.wrapRsaPrivateKey(forge.pki.privateKeyToAsn1(bag.key))
    : bag.asn1;
  if (!privateKeyInfo) throw unreadable();
  return Buffer.from(forge.asn1.toDer(privateKeyInfo).getBytes(), 'binary');
}
