import { KeyswitchError } from '@keyswitch/core';

/** An `INVALID_INPUT` error naming what was wrong. */
export function invalidInput(detail: string, cause?: unknown): KeyswitchError {
  return new KeyswitchError('INVALID_INPUT', detail, cause === undefined ? {} : { cause });
}
