import { type ErrorCode, KeyswitchError } from '../errors.js';

/** Why a path cannot be used, in words, by the platform's error code. */
const REASONS: Readonly<Record<string, readonly [ErrorCode, string]>> = {
  ENOENT: ['CONFIG_INVALID', 'it, or a directory on its path, does not exist'],
  ENOTDIR: ['CONFIG_INVALID', 'a part of its path is a file, not a directory'],
  EISDIR: ['CONFIG_INVALID', 'it is a directory'],
  EEXIST: ['CONFIG_INVALID', 'something already exists where it, or a directory on its path, belongs'],
  EINVAL: ['CONFIG_INVALID', 'the file system refuses it as a path for this file'],
  ENAMETOOLONG: ['CONFIG_INVALID', 'its path is too long'],
  ELOOP: ['CONFIG_INVALID', 'its path has too many symbolic links'],
  ERR_INVALID_ARG_VALUE: ['CONFIG_INVALID', 'its path is not a valid file name'],
  ERR_INVALID_ARG_TYPE: ['CONFIG_INVALID', 'its path is not a valid file name'],
  EACCES: ['ACCESS_DENIED', 'permission denied'],
  EPERM: ['ACCESS_DENIED', 'operation not permitted'],
  EROFS: ['ACCESS_DENIED', 'it is on a read-only file system'],
  ENOSPC: ['UNAVAILABLE', 'no space left on the device'],
  EDQUOT: ['UNAVAILABLE', 'the disk quota is exhausted'],
  EIO: ['UNAVAILABLE', 'an input/output error'],
  EMFILE: ['UNAVAILABLE', 'this process has too many open files'],
  ENFILE: ['UNAVAILABLE', 'the system has too many open files'],
  EBUSY: ['UNAVAILABLE', 'it is busy'],
  EAGAIN: ['UNAVAILABLE', 'it is temporarily unavailable'],
};

/**
 * Turns a file system error (an errno error from `node:fs`, or a bad-path TypeError) into a
 * {@link KeyswitchError} naming what the file is, its path and the platform code. A KeyswitchError is
 * returned as it is.
 *
 * - CONFIG_INVALID: the path cannot be this file (ENOENT, ENOTDIR, EISDIR, EEXIST, EINVAL, a NUL in the path …);
 * - ACCESS_DENIED: EACCES, EPERM, EROFS;
 * - UNAVAILABLE (retryable): ENOSPC, EDQUOT, EIO, EMFILE, ENFILE, EBUSY, EAGAIN;
 * - INTERNAL: anything else.
 *
 * @example
 * ```ts
 * const handle = await open(file, 'a+').catch((error) => {
 *   throw fileSystemError(error, { what: 'audit file', path: file });
 * });
 * // CONFIG_INVALID "[keyswitch]: audit file /var/log/app: cannot be opened: it is a directory (EISDIR)"
 * ```
 */
export function fileSystemError(
  error: unknown,
  where: { readonly what: string; readonly path: string; readonly action?: string },
): KeyswitchError {
  if (error instanceof KeyswitchError) return error;
  const code =
    typeof (error as { code?: unknown })?.code === 'string' ? (error as { code: string }).code : undefined;
  const [keyswitchCode, reason] = (code !== undefined && REASONS[code]) || [
    'INTERNAL',
    'an unexpected file system error',
  ];
  return new KeyswitchError(
    keyswitchCode,
    `${where.what} ${where.path} ${where.action ?? 'cannot be opened'}: ${reason}${code ? ` (${code})` : ''}`,
    { cause: error },
  );
}
