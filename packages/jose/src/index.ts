/**
 * JWS and JWE with backend-held keys, and the EMV 3-D Secure message crypto.
 *
 * @packageDocumentation
 */
export {
  type AcsKeyExchangeOptions,
  type AcsKeyExchangeResult,
  acsKeyExchange,
} from './emv3ds/acs-key-exchange.js';
export {
  type AcsSignedContent,
  type CreateAcsSignedContentOptions,
  createAcsSignedContent,
  type VerifiedAcsSignedContent,
  type VerifyAcsSignedContentOptions,
  verifyAcsSignedContent,
} from './emv3ds/acs-signed-content.js';
export {
  type ChallengeCipherOptions,
  type ChallengeDirection,
  type ChallengeEncryption,
  type DecryptChallengeOptions,
  decryptChallengeMessage,
  type EncryptChallengeOptions,
  encryptChallengeMessage,
} from './emv3ds/challenge-message.js';
export {
  ChallengeSession,
  type ChallengeSessionOptions,
  type ChallengeSessionState,
} from './emv3ds/challenge-session.js';
export { agreeEmvSessionKey, deriveEmvSessionKey } from './emv3ds/emv-session-key.js';
export { type EphemeralKeyPair, generateEphemeralKeyPair } from './emv3ds/ephemeral-key-pair.js';
export {
  type SdkKeyExchangeOptions,
  type SdkKeyExchangeResult,
  sdkKeyExchange,
} from './emv3ds/sdk-key-exchange.js';
export {
  type ContentEncryption,
  type DecryptedJwe,
  type DecryptJweOptions,
  decryptJwe,
  type JweHeader,
  type JweKeyManagement,
} from './jwe/decrypt-jwe.js';
export { type EncryptJweOptions, encryptJwe, type JweRecipient } from './jwe/encrypt-jwe.js';
export type { EcdhKeyAgreement, JweDecryptionKey, RsaOaepDecrypter } from './jwe/jwe-keys.js';
export type { JwsSigner } from './jws/jws-signer.js';
export { type SignJwsOptions, signJws } from './jws/sign-jws.js';
export {
  type JwsAlgorithm,
  type JwsHeader,
  type PublicKeyInput,
  type VerifiedJws,
  type VerifyJwsOptions,
  verifyJws,
} from './jws/verify-jws.js';
export { type ConcatKdfInput, concatKdf } from './kdf/concat-kdf.js';
export {
  type CertificateInput,
  type VerifiedCertificateChain,
  type VerifyCertificateChainOptions,
  verifyCertificateChain,
} from './x5c/verify-certificate-chain.js';
