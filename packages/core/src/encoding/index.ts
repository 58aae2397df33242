/**
 * Encodings of public keys and signatures: PEM, SubjectPublicKeyInfo, JWK, JWK thumbprints, ECDSA
 * signature forms, base64 and base64url, and big-endian unsigned integers. Built on asn1js; every parser
 * is strict and throws `INVALID_INPUT`.
 *
 * @packageDocumentation
 */
export { base64Decode, base64Encode } from './base64.js';
export { base64UrlDecode, base64UrlEncode } from './base64url.js';
export { unwrapEcPointOctetString } from './ec-point.js';
export { ecdsaDerToP1363, ecdsaP1363ToDer } from './ecdsa-signature.js';
export { type EcPublicJwk, jwkToSpki, type PublicJwk, type RsaPublicJwk, spkiToJwk } from './jwk.js';
export { jwkThumbprint } from './jwk-thumbprint.js';
export { bytesToBigInt } from './lib/unsigned-integer.js';
export { derToPem, pemToDer } from './pem.js';
export { type PublicKey, publicKeyFromSpki, toSpki } from './public-key.js';
export {
  type EcKeySpec,
  type EcPublicComponents,
  ecPointToSpki,
  type ParsedEcPublicKey,
  type ParsedPublicKey,
  type ParsedRsaPublicKey,
  parseSpki,
  type RsaKeySpec,
  type RsaPublicComponents,
  rsaPublicKeyToSpki,
} from './spki.js';
export { type PublicKeyAlgorithm, type WebCryptoImport, webCryptoImport } from './web-crypto-import.js';
