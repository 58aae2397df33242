import { type ErrorCode, isKeyswitchError, KeyswitchError } from '@keyswitch/core';
import { errorBodyExcerpt } from './sdk-middleware.js';

const BY_NAME: Readonly<Record<string, ErrorCode>> = {
  NotFoundException: 'KEY_NOT_FOUND',
  DisabledException: 'KEY_DISABLED',
  KMSInvalidStateException: 'KEY_DISABLED',
  InvalidCiphertextException: 'INVALID_CIPHERTEXT',
  IncorrectKeyException: 'INVALID_CIPHERTEXT',
  AccessDeniedException: 'ACCESS_DENIED',
  UnrecognizedClientException: 'ACCESS_DENIED',
  InvalidSignatureException: 'ACCESS_DENIED',
  IncompleteSignatureException: 'ACCESS_DENIED',
  MissingAuthenticationTokenException: 'ACCESS_DENIED',
  ExpiredTokenException: 'ACCESS_DENIED',
  InvalidClientTokenId: 'ACCESS_DENIED',
  SignatureDoesNotMatch: 'ACCESS_DENIED',
  ThrottlingException: 'THROTTLED',
  Throttling: 'THROTTLED',
  TooManyRequestsException: 'THROTTLED',
  RequestLimitExceeded: 'THROTTLED',
  KMSInternalException: 'UNAVAILABLE',
  DependencyTimeoutException: 'UNAVAILABLE',
  KeyUnavailableException: 'UNAVAILABLE',
  ServiceUnavailable: 'UNAVAILABLE',
  InternalFailure: 'UNAVAILABLE',
  InvalidKeyUsageException: 'USAGE_MISMATCH',
  UnsupportedOperationException: 'UNSUPPORTED_OPERATION',
  UnknownOperationException: 'UNSUPPORTED_OPERATION',
  ValidationException: 'INVALID_INPUT',
  SerializationException: 'INVALID_INPUT',
  InvalidAliasNameException: 'INVALID_INPUT',
  InvalidArnException: 'INVALID_INPUT',
  InvalidMarkerException: 'INVALID_INPUT',
  InvalidGrantTokenException: 'INVALID_INPUT',
  AlreadyExistsException: 'KEY_EXISTS',
  TagException: 'INVALID_INPUT',
  MalformedPolicyDocumentException: 'INVALID_INPUT',
  KMSInvalidSignatureException: 'INVALID_INPUT',
  KMSInvalidMacException: 'INVALID_INPUT',
};

/** Node's error codes for a connection that could not be made or was lost. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'ERR_SOCKET_CONNECTION_TIMEOUT',
]);
const PROGRAMMING_ERRORS = new Set(['TypeError', 'RangeError', 'ReferenceError', 'SyntaxError']);
const NETWORK_NAMES = new Set([
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
  'AbortError',
  'NetworkingError',
]);

interface SdkError {
  name?: string;
  message?: string;
  code?: string;
  $fault?: 'client' | 'server';
  $metadata?: { httpStatusCode?: number; attempts?: number };
}

/**
 * The keyswitch error for a failure from the AWS SDK: KMS exceptions by name (see the table in the
 * README), network failures and timeouts as UNAVAILABLE, throttling as THROTTLED (both retryable, after
 * the SDK's own retries), missing region or credentials as CONFIG_INVALID. The SDK's error is the `cause`.
 */
export function mapKmsError(error: unknown, operation: string): KeyswitchError {
  if (isKeyswitchError(error)) return error;
  const sdk = (typeof error === 'object' && error !== null ? error : {}) as SdkError;
  const name = sdk.name ?? 'Error';
  const attempts = sdk.$metadata?.attempts;
  const tried = attempts !== undefined && attempts > 1 ? ` after ${attempts} attempts` : '';
  const known = BY_NAME[name];
  if (known) {
    return new KeyswitchError(
      known,
      `KMS ${operation} failed${tried}: ${name}${sdk.message ? `: ${sdk.message}` : ''}`,
      {
        cause: error,
      },
    );
  }
  if (name === 'CredentialsProviderError' || /region is missing/i.test(sdk.message ?? '')) {
    return new KeyswitchError(
      'CONFIG_INVALID',
      `no AWS ${name === 'CredentialsProviderError' ? 'credentials' : 'region'} configured: ${sdk.message ?? name}`,
      {
        cause: error,
      },
    );
  }
  const status = sdk.$metadata?.httpStatusCode;
  if (
    status === undefined &&
    (NETWORK_CODES.has(sdk.code ?? '') || NETWORK_NAMES.has(name) || NETWORK_CODES.has(name))
  ) {
    return new KeyswitchError('UNAVAILABLE', `KMS ${operation} ${transportFailure(sdk)}${tried}`, {
      cause: error,
    });
  }
  if (status === 501) {
    return new KeyswitchError(
      'UNSUPPORTED_OPERATION',
      `KMS ${operation} is not implemented by this endpoint (HTTP 501${bodyNote(error, name)})`,
      { cause: error, retryable: false },
    );
  }
  if (sdk.$fault === 'server' || (status !== undefined && status >= 500)) {
    return new KeyswitchError(
      'UNAVAILABLE',
      `KMS ${operation} failed${tried}: ${name === 'SyntaxError' ? 'an answer' : name} (HTTP ${status ?? '5xx'}${bodyNote(error, name)})`,
      {
        cause: error,
      },
    );
  }
  if (status === undefined && sdk.$fault === undefined && !PROGRAMMING_ERRORS.has(name)) {
    // No response at all and no recognisable cause: treat as a transport failure rather than a bug.
    return new KeyswitchError('UNAVAILABLE', `KMS ${operation} failed without a response: ${name}`, {
      cause: error,
    });
  }
  return new KeyswitchError(
    'INTERNAL',
    `KMS ${operation} failed: ${name === 'SyntaxError' && status ? 'an answer' : name}${status ? ` (HTTP ${status}${bodyNote(error, name)})` : ''}`,
    {
      cause: error,
    },
  );
}

/** What went wrong on the way to KMS, naming the phase: never connected, or sent and not answered. */
function transportFailure(sdk: SdkError): string {
  const message = sdk.message ?? '';
  if (sdk.name === 'TimeoutError' && /did not establish a connection/.test(message)) {
    return `could not connect to KMS within the connection timeout (${milliseconds(message)}); the request was not sent`;
  }
  if (sdk.name === 'TimeoutError' && /requestTimeout/.test(message)) {
    return `was sent, but no answer came within the request timeout (${milliseconds(message)}); KMS may have acted on it`;
  }
  if (sdk.name === 'TimeoutError' && /inactivity/.test(message)) {
    return `was sent, but the connection went silent (${milliseconds(message)} without data); KMS may have acted on it`;
  }
  if (sdk.code === 'ECONNREFUSED') return 'could not reach KMS: the connection was refused';
  if (sdk.code === 'ENOTFOUND' || sdk.code === 'EAI_AGAIN')
    return 'could not reach KMS: the host name does not resolve';
  if (sdk.code === 'ECONNRESET' || sdk.code === 'EPIPE') {
    return `lost its connection to KMS (${sdk.code}); KMS may have acted on the request`;
  }
  return `could not reach KMS: ${sdk.code ?? sdk.name ?? 'network error'}`;
}

function milliseconds(message: string): string {
  const match = /(\d+) ms/.exec(message);
  return match ? `${match[1]} ms` : 'timed out';
}

/** ", body: …" with an excerpt of a body that was not KMS's JSON, when the SDK could not parse it. */
function bodyNote(error: unknown, name: string): string {
  if (name !== 'SyntaxError') return '';
  const excerpt = errorBodyExcerpt(error);
  return excerpt === undefined
    ? ', a body that is not KMS JSON'
    : `, a body that is not KMS JSON: "${excerpt}"`;
}
