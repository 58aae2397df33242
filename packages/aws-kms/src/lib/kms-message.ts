/**
 * Largest message KMS signs or verifies as `RAW`. The capability manifest declares it
 * (`signing.rawMessageBytes`), and the core hashes any longer message and hands the backend a `DIGEST`:
 * this backend never hashes a message itself.
 *
 * @example
 * ```ts
 * const fitsRaw = message.byteLength <= KMS_MAX_RAW_MESSAGE_BYTES;
 * ```
 */
export const KMS_MAX_RAW_MESSAGE_BYTES = 4096;
