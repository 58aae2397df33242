import { randomBytes } from 'node:crypto';

/** A run id for key labels and report names: base-36 time and 3 random bytes (`m3x9k2ab-4f1a9c`). */
export function newRunId(): string {
  return `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

/** What a label prefix may contain: what a KMS alias, a PKCS#11 label and a software-HSM name all accept. */
export const LABEL_PREFIX_PATTERN = /^[A-Za-z0-9_-]{1,100}$/;
