import { invalidInput, KeyswitchError } from '../../errors.js';
import { pkcs12Budget } from './pkcs12-budget.js';

/** The largest PKCS#12 file read, in bytes: a key with a long certificate chain is a few kilobytes. */
export const MAX_PKCS12_BYTES = 65_536;

type Forge = typeof import('node-forge');
type Asn1 = import('node-forge').asn1.Asn1;

const OID_DATA = '1.2.840.113549.1.7.1';
const OID_SHROUDED_KEY_BAG = '1.2.840.113549.1.12.10.1.2';
const OID_KEY_BAG = '1.2.840.113549.1.12.10.1.1';
const OID_PBES2 = '1.2.840.113549.1.5.13';
const MAC_DIGESTS: Readonly<
  Record<string, { name: 'sha1' | 'sha256' | 'sha384' | 'sha512'; bytes: number }>
> = {
  '1.3.14.3.2.26': { name: 'sha1', bytes: 20 },
  '2.16.840.1.101.3.4.2.1': { name: 'sha256', bytes: 32 },
  '2.16.840.1.101.3.4.2.2': { name: 'sha384', bytes: 48 },
  '2.16.840.1.101.3.4.2.3': { name: 'sha512', bytes: 64 },
};

function unreadable(): KeyswitchError {
  // Never pass node-forge's error on: its details can quote the input.
  return invalidInput('cannot read the PKCS#12: wrong password, or not a PKCS#12 file');
}

/** The children of a constructed ASN.1 value, or a refusal. */
function children(node: Asn1 | undefined, min: number): Asn1[] {
  if (node === undefined || !Array.isArray(node.value) || node.value.length < min) throw unreadable();
  return node.value;
}

/** The bytes of an OCTET STRING, BER-constructed or not, as a binary string. */
function octets(node: Asn1 | undefined): string {
  if (node === undefined) throw unreadable();
  if (typeof node.value === 'string') return node.value;
  return node.value.map((part) => octets(part)).join('');
}

function oidOf(forge: Forge, node: Asn1 | undefined): string {
  if (node === undefined || typeof node.value !== 'string') throw unreadable();
  return forge.asn1.derToOid(node.value);
}

/** An INTEGER as a number; anything over 2^48 is refused (no iteration count is that large). */
function smallInteger(node: Asn1 | undefined): number {
  if (node === undefined || typeof node.value !== 'string' || node.value.length === 0) throw unreadable();
  if (node.value.length > 6) return Number.POSITIVE_INFINITY;
  let value = 0;
  for (const char of node.value) value = value * 256 + char.charCodeAt(0);
  return value;
}

/** The iteration count of a password-based encryption AlgorithmIdentifier (PBES2, or PBES1 / PKCS#12 PBE). */
function pbeIterations(forge: Forge, algorithm: Asn1 | undefined): number {
  const [oid, parameters] = children(algorithm, 2);
  if (oidOf(forge, oid) === OID_PBES2) {
    const [keyDerivation] = children(parameters, 2);
    const [, pbkdf2Parameters] = children(keyDerivation, 2);
    return smallInteger(children(pbkdf2Parameters, 2)[1]);
  }
  return smallInteger(children(parameters, 2)[1]);
}

/**
 * The single private key in a PKCS#12 file, as DER PKCS#8. Before any key derivation runs, every
 * iteration count the key's recovery needs (the MAC's and the key bag's) is checked against a budget, so
 * that a crafted file (2^31 - 1 iterations) fails at once instead of blocking the event loop. The file's
 * encrypted SafeContents (certificates) are not decrypted: the key must be in a shrouded key bag in plain
 * SafeContents, as OpenSSL, Java, Windows and macOS write it. node-forge, loaded on first use, does the
 * password-based MAC and decryption, which node:crypto cannot.
 *
 * @throws INVALID_INPUT for a wrong password, a malformed or oversize file, too much key-derivation work,
 * or a file holding no key or several
 *
 * @example
 * ```ts
 * const pkcs8 = await readPkcs12PrivateKey(readFileSync('acs.p12'), password);
 * ```
 */
export async function readPkcs12PrivateKey(data: Uint8Array, password: string): Promise<Uint8Array> {
  if (!(data instanceof Uint8Array) || typeof password !== 'string') {
    throw invalidInput('pkcs12 must be { data: Uint8Array, password: string }');
  }
  if (data.byteLength === 0 || data.byteLength > MAX_PKCS12_BYTES) {
    throw invalidInput(`pkcs12 data must be 1 to ${MAX_PKCS12_BYTES} bytes, got ${data.byteLength}`);
  }
  const { default: forge } = await import('node-forge');
  const budget = pkcs12Budget();
  let pfx: Asn1;
  let authSafeBytes: string;
  const keptContents: Asn1[] = [];
  let encryptedKeyBags = 0;
  try {
    pfx = forge.asn1.fromDer(forge.util.createBuffer(Buffer.from(data).toString('binary')));
    const [, authSafe, macData] = children(pfx, 2);
    const [contentType, content] = children(authSafe, 2);
    if (oidOf(forge, contentType) !== OID_DATA) throw unreadable();
    authSafeBytes = octets(children(content, 1)[0]);
    if (macData !== undefined) {
      const [digestInfo, salt, iterations] = children(macData, 2);
      const count = iterations === undefined ? 1 : smallInteger(iterations);
      budget.spend(count, 'the MAC');
      verifyMac(forge, digestInfo, octets(salt), count, password, authSafeBytes);
    }
    for (const contentInfo of children(forge.asn1.fromDer(authSafeBytes), 0)) {
      const [type, wrapped] = children(contentInfo, 1);
      if (oidOf(forge, type) !== OID_DATA) continue; // encrypted certificates: not needed, not decrypted
      const safeContents = forge.asn1.fromDer(octets(children(wrapped, 1)[0]));
      for (const bag of children(safeContents, 0)) {
        const [bagId, bagValue] = children(bag, 2);
        const id = oidOf(forge, bagId);
        if (id === OID_SHROUDED_KEY_BAG) {
          const [algorithm] = children(children(bagValue, 1)[0], 2);
          budget.spend(pbeIterations(forge, algorithm), 'the key bag');
          encryptedKeyBags++;
        } else if (id === OID_KEY_BAG) {
          encryptedKeyBags++;
        }
      }
      keptContents.push(contentInfo);
    }
  } catch (error) {
    throw error instanceof KeyswitchError ? error : unreadable();
  }
  if (encryptedKeyBags !== 1) {
    throw invalidInput(
      `the PKCS#12 must hold exactly one private key in a key bag, it holds ${encryptedKeyBags}`,
    );
  }
  return decryptKey(forge, pfx, keptContents, password);
}

/** Checks the PKCS#12 MAC (RFC 7292 appendix B key derivation, then HMAC) over the AuthenticatedSafe. */
function verifyMac(
  forge: Forge,
  digestInfo: Asn1,
  salt: string,
  iterations: number,
  password: string,
  authSafeBytes: string,
): void {
  const [algorithm, expected] = children(digestInfo, 2);
  const digest = MAC_DIGESTS[oidOf(forge, children(algorithm, 1)[0])];
  if (digest === undefined) throw invalidInput('the PKCS#12 MAC uses a digest other than SHA-1 or SHA-2');
  const md = forge.md[digest.name].create();
  const key = forge.pkcs12.generateKey(
    password,
    forge.util.createBuffer(salt),
    3,
    iterations,
    digest.bytes,
    md,
  );
  const hmac = forge.hmac.create();
  hmac.start(forge.md[digest.name].create(), key);
  hmac.update(authSafeBytes);
  if (hmac.digest().getBytes() !== octets(expected)) throw unreadable();
}

/** Decrypts the one key bag: node-forge reads a PFX rebuilt from the plain SafeContents alone. */
function decryptKey(forge: Forge, pfx: Asn1, kept: readonly Asn1[], password: string): Uint8Array {
  const { asn1 } = forge;
  const authSafe = asn1
    .toDer(asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [...kept]))
    .getBytes();
  const rebuilt = asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [
    children(pfx, 2)[0]!,
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [
      asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OID, false, asn1.oidToDer(OID_DATA).getBytes()),
      asn1.create(asn1.Class.CONTEXT_SPECIFIC, 0, true, [
        asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OCTETSTRING, false, authSafe),
      ]),
    ]),
  ]);
  let parsed: ReturnType<typeof forge.pkcs12.pkcs12FromAsn1>;
  try {
    parsed = forge.pkcs12.pkcs12FromAsn1(rebuilt, password);
  } catch {
    throw unreadable();
  }
  const { keyBag, pkcs8ShroudedKeyBag } = forge.pki.oids;
  const bags = [keyBag!, pkcs8ShroudedKeyBag!].flatMap(
    (bagType) => parsed.getBags({ bagType })[bagType] ?? [],
  );
  const bag = bags[0];
  // forge decodes RSA keys into objects and leaves other keys (EC) as their PrivateKeyInfo ASN.1.
  const privateKeyInfo = bag?.key
    ? forge.pki.wrapRsaPrivateKey(forge.pki.privateKeyToAsn1(bag.key))
    : bag?.asn1;
  if (bags.length !== 1 || !privateKeyInfo) throw unreadable();
  return new Uint8Array(Buffer.from(asn1.toDer(privateKeyInfo).getBytes(), 'binary'));
}
