import type { ErrorCode } from '../errors.js';
import type { ExtensionName } from '../provider/contract.js';
import type { Algorithm } from '../vocabulary/algorithms.js';

/** The key operations that produce audit events: the contract's, and the backends' declared extensions. */
export type AuditOperation =
  | 'describeKey'
  | 'listKeys'
  | 'createKey'
  | 'enableKey'
  | 'disableKey'
  | 'scheduleKeyDeletion'
  | 'cancelKeyDeletion'
  | 'importKey'
  | 'getPublicKey'
  | 'sign'
  | 'verify'
  | 'encrypt'
  | 'decrypt'
  | 'generateMac'
  | 'verifyMac'
  | 'deriveSharedSecret'
  | 'generateDataKey'
  | 'generateRandom'
  | ExtensionName;

/**
 * One key operation, as audited. Holds who, what and how it went; never data, plaintext, signatures,
 * key material, PINs or secrets.
 */
export interface AuditEvent {
  /** ISO 8601 time the operation started. */
  readonly time: string;
  readonly operation: AuditOperation;
  /** The logical key name from the configuration, when the call came through the registry. */
  readonly keyName?: string;
  /** The caller's request id, when the call was given one (`requestId` in the call's options). */
  readonly requestId?: string;
  /** The provider's name in the configuration. */
  readonly provider: string;
  /** The provider's type (`soft-hsm`, `pkcs11`, `aws-kms`). */
  readonly providerType: string;
  /** The provider-native key reference. */
  readonly keyRef?: string;
  /** The backend key version, where the backend has versions. */
  readonly keyVersion?: string;
  readonly algorithm?: Algorithm;
  /** `success`, or `failure` with an `errorCode`. A verify that returns false is a success with `valid: false`. */
  readonly outcome: 'success' | 'failure';
  readonly errorCode?: ErrorCode;
  /** For verify and verifyMac: whether the signature or tag was valid. */
  readonly valid?: boolean;
  /** Wall time of the operation, in milliseconds. */
  readonly durationMs: number;
}

/** Receives audit events. It must not throw; if it does, the error is reported as a process warning. */
export type AuditListener = (event: AuditEvent) => void;
