import { KeyswitchError } from '../../errors.js';

/**
 * An `INVALID_INPUT` error for a malformed argument. `detail` names what was wrong and never contains
 * key bytes.
 */
export function invalidInput(detail: string): KeyswitchError {
  return new KeyswitchError('INVALID_INPUT', detail);
}
