import { isKeyswitchError } from '@keyswitch/core';
import type { Fact } from './comparison-report.js';

/**
 * What a call showed, as one comparable fact: its boolean answer (verify), `ok` for any other success,
 * or the error code (the error's name when it is not a KeyswitchError).
 */
export async function observe(action: () => Promise<unknown>): Promise<Fact> {
  try {
    const result = await action();
    return typeof result === 'boolean' ? result : 'ok';
  } catch (error) {
    if (isKeyswitchError(error)) return error.code;
    return error instanceof Error ? error.name : 'thrown';
  }
}
