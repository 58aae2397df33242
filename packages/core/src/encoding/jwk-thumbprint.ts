import { createHash } from 'node:crypto';
import { jwkToSpki, type PublicJwk } from './jwk.js';
import { encodeBase64 } from './lib/base64.js';

/**
 * The RFC 7638 JWK thumbprint (SHA-256, base64url) of a public JWK: the hash of its required members in
 * lexicographic order without whitespace. keyswitch uses it as a key's `kid`.
 *
 * @throws {@link KeyswitchError} `INVALID_INPUT` when `jwk` is not a public JWK {@link jwkToSpki} accepts.
 *
 * @example
 * ```ts
 * jwkThumbprint({ kty: 'RSA', e: 'AQAB', n: '0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4…' });
 * // 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs'
 * ```
 */
export function jwkThumbprint(jwk: PublicJwk): string {
  jwkToSpki(jwk);
  const required =
    jwk.kty === 'RSA'
      ? { e: jwk.e, kty: jwk.kty, n: jwk.n }
      : { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y };
  return encodeBase64(createHash('sha256').update(JSON.stringify(required)).digest(), 'base64url');
}
