/**
 * The stable error codes every keyswitch backend answers with. The same fault gives the same code on
 * every backend; callers branch on `code`, never on message text.
 *
 * - `KEY_NOT_FOUND`: no key at that reference.
 * - `KEY_DISABLED`: the key exists but is disabled or pending deletion.
 * - `USAGE_MISMATCH`: the key's usage or spec does not allow the operation or algorithm asked for.
 * - `UNSUPPORTED_ALGORITHM`: the backend cannot use this algorithm or key spec (its capability manifest
 *   says so).
 * - `UNSUPPORTED_OPERATION`: the backend cannot perform this operation at all (create, import, list, an
 *   extension it does not declare), whatever the key or algorithm.
 * - `INVALID_CIPHERTEXT`: ciphertext, tag or encryption context does not authenticate.
 * - `INVALID_SIGNATURE`: a signed object (a JWS) is not authentic: its signature does not verify, or it is
 *   unsigned (`alg: none`). Provider `verify` calls answer `false` instead; this code is for APIs that
 *   return the signed content only when it is authentic.
 * - `INVALID_INPUT`: an argument is malformed or out of range (a digest of the wrong length, oversize data).
 * - `KEY_EXISTS`: a key (or alias, or label) by that name already exists, so nothing was created.
 * - `AMBIGUOUS_KEY`: a reference matches more than one key, so the backend refuses to guess.
 * - `ACCESS_DENIED`: the backend refused the caller.
 * - `THROTTLED`: the backend asked the caller to slow down (retryable).
 * - `UNAVAILABLE`: the backend could not be reached or failed transiently (retryable).
 * - `CONFIG_INVALID`: the configuration is malformed or does not match the backend's keys.
 * - `LOCKED`: a resource (a keystore file) is held by another process.
 * - `CLOSED`: the object was closed and can no longer be used.
 * - `INTERNAL`: a backend failure that fits no other code.
 * - `AUDIT_UNAVAILABLE`: the audit trail cannot be written and `audit.failClosed` is set, so the operation
 *   was refused rather than run unaudited, or it ran and its result is withheld because its record could
 *   not be written (retryable: it passes again once the trail is written; not for a create or import
 *   that ran, whose key exists).
 * - `ABORTED`: the caller cancelled the call (its `AbortSignal` fired) before the backend answered. The
 *   backend call may still complete; its session is released when it does.
 */
export type ErrorCode =
  | 'KEY_NOT_FOUND'
  | 'KEY_DISABLED'
  | 'USAGE_MISMATCH'
  | 'UNSUPPORTED_ALGORITHM'
  | 'UNSUPPORTED_OPERATION'
  | 'INVALID_CIPHERTEXT'
  | 'INVALID_SIGNATURE'
  | 'INVALID_INPUT'
  | 'KEY_EXISTS'
  | 'AMBIGUOUS_KEY'
  | 'ACCESS_DENIED'
  | 'THROTTLED'
  | 'UNAVAILABLE'
  | 'CONFIG_INVALID'
  | 'LOCKED'
  | 'CLOSED'
  | 'INTERNAL'
  | 'AUDIT_UNAVAILABLE'
  | 'ABORTED';

/** Every code, for iteration and validation. */
export const ERROR_CODES: readonly ErrorCode[] = [
  'KEY_NOT_FOUND',
  'KEY_DISABLED',
  'USAGE_MISMATCH',
  'UNSUPPORTED_ALGORITHM',
  'UNSUPPORTED_OPERATION',
  'INVALID_CIPHERTEXT',
  'INVALID_SIGNATURE',
  'INVALID_INPUT',
  'KEY_EXISTS',
  'AMBIGUOUS_KEY',
  'ACCESS_DENIED',
  'THROTTLED',
  'UNAVAILABLE',
  'CONFIG_INVALID',
  'LOCKED',
  'CLOSED',
  'INTERNAL',
  'AUDIT_UNAVAILABLE',
  'ABORTED',
];

const RETRYABLE_BY_DEFAULT: ReadonlySet<ErrorCode> = new Set([
  'THROTTLED',
  'UNAVAILABLE',
  'AUDIT_UNAVAILABLE',
]);

/** Where an error came from, and anything a caller needs to act on it. */
export interface KeyswitchErrorOptions {
  /** The provider's name in the configuration (or its type when it has no name). */
  provider?: string | undefined;
  /** The logical key name from the configuration. */
  keyName?: string | undefined;
  /** The provider-native key reference. */
  keyRef?: string | undefined;
  /** For CONFIG_INVALID: the JSON path of the offending value, such as `keys.acs-signing.spec`. */
  path?: string | undefined;
  /** Overrides the code's default retryability. */
  retryable?: boolean | undefined;
  /** The backend's own error. */
  cause?: unknown;
}

/**
 * The one error class keyswitch throws. Messages name where the error came from
 * (`[keyswitch] [pkcs11] key "acs-signing" (pkcs11:object=acs) not found`) and never contain key
 * material, plaintext, PINs or passphrases.
 *
 * @example
 * ```ts
 * try {
 *   await ks.signer('acs-signing').sign(payload);
 * } catch (error) {
 *   if (error instanceof KeyswitchError && error.retryable) scheduleRetry();
 *   else throw error;
 * }
 * ```
 */
export class KeyswitchError extends Error {
  /** The stable code; see {@link ErrorCode}. */
  readonly code: ErrorCode;
  /** Whether the same call may succeed if tried again later. */
  readonly retryable: boolean;
  /** The provider that raised it, when known. */
  readonly provider: string | undefined;
  /** The logical key name, when known. */
  readonly keyName: string | undefined;
  /** The provider-native key reference, when known. */
  readonly keyRef: string | undefined;
  /** For configuration errors, the JSON path of the offending value. */
  readonly path: string | undefined;
  /** The message without the location prefix. */
  readonly detail: string;

  constructor(code: ErrorCode, detail: string, options: KeyswitchErrorOptions = {}) {
    super(formatMessage(detail, options), options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'KeyswitchError';
    this.code = code;
    this.detail = detail;
    this.retryable = options.retryable ?? RETRYABLE_BY_DEFAULT.has(code);
    this.provider = options.provider;
    this.keyName = options.keyName;
    this.keyRef = options.keyRef === undefined ? undefined : redactReference(options.keyRef);
    this.path = options.path;
  }

  /** A copy of this error that also names the provider, logical key and key reference where it did not already. */
  withContext(context: {
    provider?: string | undefined;
    keyName?: string | undefined;
    keyRef?: string | undefined;
  }): KeyswitchError {
    const provider = this.provider ?? context.provider;
    const keyName = this.keyName ?? context.keyName;
    const keyRef = this.keyRef ?? context.keyRef;
    if (provider === this.provider && keyName === this.keyName && keyRef === this.keyRef) return this;
    const copy = new KeyswitchError(this.code, this.detail, {
      provider,
      keyName,
      keyRef,
      path: this.path,
      retryable: this.retryable,
      cause: this.cause,
    });
    if (this.stack !== undefined) copy.stack = this.stack;
    return copy;
  }

  /** A plain object for logs and reports: code, message, location; never the cause's data. */
  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      code: this.code,
      message: this.message,
      retryable: this.retryable,
      provider: this.provider,
      keyName: this.keyName,
      keyRef: this.keyRef,
      path: this.path,
    };
  }
}

/**
 * A key reference fit for messages, logs and audit events: a `pin-value` attribute (RFC 7512) is a secret
 * and is replaced by `[redacted]`.
 *
 * @example
 * ```ts
 * redactReference('pkcs11:object=acs?pin-value=1234'); // 'pkcs11:object=acs?pin-value=[redacted]'
 * ```
 */
export function redactReference(ref: string): string {
  return ref.replace(/([;?&]pin-value=)[^;?&]*/gi, '$1[redacted]');
}

function formatMessage(detail: string, rawOptions: KeyswitchErrorOptions): string {
  const options =
    rawOptions.keyRef === undefined
      ? rawOptions
      : { ...rawOptions, keyRef: redactReference(rawOptions.keyRef) };
  let prefix = '[keyswitch]';
  if (options.provider) prefix += ` [${options.provider}]`;
  if (options.keyName && options.keyRef) prefix += ` key "${options.keyName}" (${options.keyRef})`;
  else if (options.keyName) prefix += ` key "${options.keyName}"`;
  else if (options.keyRef) prefix += ` key ${options.keyRef}`;
  if (options.path) prefix += ` at ${options.path}`;
  return `${prefix}: ${detail}`;
}

/**
 * Whether `value` is a {@link KeyswitchError}, optionally with one of the given codes. Works across
 * copies of the package (CJS and ESM builds side by side) by checking the shape, not the prototype.
 *
 * @example
 * ```ts
 * if (isKeyswitchError(error, 'KEY_DISABLED')) alertOperator(error.keyName);
 * ```
 */
export function isKeyswitchError(value: unknown, ...codes: ErrorCode[]): value is KeyswitchError {
  if (!(value instanceof Error)) return false;
  const code = (value as { code?: unknown }).code;
  if (typeof code !== 'string' || !(ERROR_CODES as readonly string[]).includes(code)) return false;
  if (value.name !== 'KeyswitchError') return false;
  return codes.length === 0 || codes.includes(code as ErrorCode);
}

/**
 * An INVALID_INPUT error: a malformed or out-of-range argument. `detail` names what was wrong and where;
 * it never quotes key material, plaintext or a PIN. `cause` (a parser's error) is kept for debugging.
 *
 * @example
 * ```ts
 * import { invalidInput } from '@keyswitch/core';
 * if (digest.length !== 32) throw invalidInput(`a SHA-256 digest must be 32 bytes, got ${digest.length}`);
 * ```
 */
export function invalidInput(detail: string, cause?: unknown): KeyswitchError {
  return new KeyswitchError('INVALID_INPUT', detail, cause === undefined ? {} : { cause });
}
