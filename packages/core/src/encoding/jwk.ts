import { concatBytes } from '../bytes/concat-bytes.js';
import { invalidInput } from '../errors.js';
import type { CurveName } from '../vocabulary/key-specs.js';
import { decodeBase64Strict, encodeBase64 } from './lib/base64.js';
import { curveByName } from './lib/curves.js';
import { ecPointToSpki, parseSpki, rsaPublicKeyToSpki } from './spki.js';

/** An RSA public JWK (RFC 7518 §6.3.1): modulus and exponent, base64url, no leading zero octets. */
export interface RsaPublicJwk {
  kty: 'RSA';
  n: string;
  e: string;
}

/** An EC public JWK (RFC 7518 §6.2.1): coordinates base64url, each exactly the curve's coordinate size. */
export interface EcPublicJwk {
  kty: 'EC';
  crv: CurveName;
  x: string;
  y: string;
}

/** A public JWK of a key keyswitch can hold. */
export type PublicJwk = RsaPublicJwk | EcPublicJwk;

/** Members that only private or secret JWKs carry (RFC 7518 §6.3.2, §6.2.2, §6.4). */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;

/**
 * The public JWK of a DER SubjectPublicKeyInfo: `{ kty, n, e }` for RSA, `{ kty, crv, x, y }` for EC
 * with x and y left-padded to the coordinate size. Holds only the required members, the same as
 * node:crypto's `export({ format: 'jwk' })`.
 *
 * @throws {@link KeyswitchError} `INVALID_INPUT` when `der` is not a SubjectPublicKeyInfo
 * {@link parseSpki} accepts.
 *
 * @example
 * ```ts
 * spkiToJwk(spki); // { kty: 'EC', crv: 'P-256', x: 'f83OJ3D2…', y: 'x_FEzRu9…' }
 * ```
 */
export function spkiToJwk(der: Uint8Array): PublicJwk {
  const parsed = parseSpki(der);
  if (parsed.family === 'RSA') {
    return {
      kty: 'RSA',
      n: encodeBase64(parsed.rsa.modulus, 'base64url'),
      e: encodeBase64(parsed.rsa.publicExponent, 'base64url'),
    };
  }
  return {
    kty: 'EC',
    crv: parsed.ec.curve,
    x: encodeBase64(parsed.ec.x, 'base64url'),
    y: encodeBase64(parsed.ec.y, 'base64url'),
  };
}

/**
 * The DER SubjectPublicKeyInfo of a public JWK. The JWK is checked as if it came from JSON: `kty`, `crv`,
 * strict base64url, minimal `n` and `e`, full-size `x` and `y`, the point on its curve, the RSA size.
 * Other members (`kid`, `use`, `alg`…) are ignored.
 *
 * @throws {@link KeyswitchError} `INVALID_INPUT` naming the fault; a JWK carrying private members
 * (`d`, `p`, `q`, `dp`, `dq`, `qi`, `oth`, `k`) is refused with "private key material is not accepted".
 *
 * @example
 * ```ts
 * const spki = jwkToSpki({ kty: 'EC', crv: 'P-256', x: 'f83OJ3D2…', y: 'x_FEzRu9…' });
 * ```
 */
export function jwkToSpki(jwk: PublicJwk): Uint8Array {
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk))
    throw invalidInput('JWK must be an object');
  if (PRIVATE_MEMBERS.some((member) => Object.hasOwn(jwk, member))) {
    throw invalidInput('private key material is not accepted');
  }
  const kty: unknown = jwk.kty;
  if (kty === 'RSA') {
    const n = member(jwk, 'n');
    const e = member(jwk, 'e');
    if (n[0] === 0 || e[0] === 0) throw invalidInput('JWK members n and e must not have leading zero octets');
    return rsaPublicKeyToSpki(n, e);
  }
  if (kty === 'EC') {
    const curve = curveByName((jwk as { crv?: unknown }).crv);
    const x = member(jwk, 'x');
    const y = member(jwk, 'y');
    const size = curve.coordinateBytes;
    if (x.length !== size || y.length !== size) {
      throw invalidInput(`JWK members x and y must each be ${size} bytes for ${curve.name}`);
    }
    return ecPointToSpki(curve.name, concatBytes(new Uint8Array([0x04]), x, y));
  }
  throw invalidInput('JWK kty must be "RSA" or "EC"');
}

function member(jwk: object, name: string): Uint8Array {
  const value: unknown = (jwk as Record<string, unknown>)[name];
  if (typeof value !== 'string' || value.length === 0)
    throw invalidInput(`JWK member ${name} is missing or empty`);
  return decodeBase64Strict(value, 'base64url', `JWK member ${name}`);
}
