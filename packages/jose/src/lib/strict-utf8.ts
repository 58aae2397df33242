const strictDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Decodes UTF-8 strictly: malformed bytes are an error made by `fail`, naming `what` and never quoting the
 * bytes (they may be a decrypted payload).
 *
 * @example
 * ```ts
 * const text = decodeUtf8(payload, 'the JWS payload', invalidInput);
 * ```
 */
export function decodeUtf8(bytes: Uint8Array, what: string, fail: (detail: string) => Error): string {
  try {
    return strictDecoder.decode(bytes);
  } catch {
    throw fail(`${what} is not valid UTF-8`);
  }
}
