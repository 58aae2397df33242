import { KeyswitchError } from '@keyswitch/core';

/** Whether a mapped error was caused by the named KMS exception. */
export function isKmsCause(error: unknown, name: string): boolean {
  return error instanceof KeyswitchError && (error.cause as { name?: string } | undefined)?.name === name;
}
