import { isKeyswitchError } from '@keyswitch/core';

/**
 * An error kms-local answers with: the KMS exception type (the JSON body's `__type`), its message and the
 * HTTP status. Client errors are 400, as the KMS service sends them (the service model's `httpError`
 * traits say 404 or 409 for some, but the service and every SDK go by `__type`); internal ones 500 and 503.
 */
export class KmsException extends Error {
  readonly type: string;
  readonly status: number;

  constructor(type: string, message: string, status = 400) {
    super(message);
    this.name = 'KmsException';
    this.type = type;
    this.status = status;
  }
}

/** `ValidationException`: a request field is missing, malformed or out of range. */
export function validation(message: string): KmsException {
  return new KmsException('ValidationException', message);
}

/** `NotFoundException` for a key reference. */
export function keyNotFound(detail: string): KmsException {
  return new KmsException('NotFoundException', detail);
}

const FROM_KEYSWITCH_CODE: Readonly<Record<string, [type: string, status: number]>> = {
  KEY_NOT_FOUND: ['NotFoundException', 400],
  KEY_DISABLED: ['DisabledException', 400],
  USAGE_MISMATCH: ['InvalidKeyUsageException', 400],
  UNSUPPORTED_ALGORITHM: ['UnsupportedOperationException', 400],
  UNSUPPORTED_OPERATION: ['UnsupportedOperationException', 400],
  KEY_EXISTS: ['AlreadyExistsException', 400],
  AMBIGUOUS_KEY: ['ValidationException', 400],
  INVALID_CIPHERTEXT: ['InvalidCiphertextException', 400],
  INVALID_INPUT: ['ValidationException', 400],
  ACCESS_DENIED: ['AccessDeniedException', 400],
  THROTTLED: ['ThrottlingException', 400],
  UNAVAILABLE: ['KMSInternalException', 500],
  LOCKED: ['KMSInternalException', 500],
  CLOSED: ['KMSInternalException', 500],
};

/**
 * The KMS exception for a failure of the backing provider. kms-local checks KMS's rules itself before it
 * calls the provider, so these are the provider's own refusals (a tampered ciphertext, a peer key on the
 * wrong curve) and its outages.
 */
export function fromProviderError(error: unknown): KmsException {
  if (error instanceof KmsException) return error;
  if (isKeyswitchError(error)) {
    const [type, status] = FROM_KEYSWITCH_CODE[error.code] ?? ['KMSInternalException', 500];
    return new KmsException(type, error.detail, status);
  }
  return new KmsException('KMSInternalException', 'the backing provider failed', 500);
}
