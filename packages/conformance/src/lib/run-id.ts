import { randomBytes } from 'node:crypto';

/** A short run id, unique enough to find a run's keys by: base-36 time and 3 random bytes (`m3x9k2ab-4f1a9c`). */
export function newRunId(): string {
  return `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

/** Characters allowed in labels the suite makes: those a KMS alias, a PKCS#11 label and a soft-hsm name all accept. */
export const LABEL_PATTERN = /^[A-Za-z0-9_-]{1,200}$/;
