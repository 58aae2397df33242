import { isKeyswitchError, type KeyswitchError, loadConfig } from '../../src/index.js';

/** The CONFIG_INVALID error loading `source` gives; fails the test when it loads or fails otherwise. */
export async function configError(source: unknown): Promise<KeyswitchError> {
  try {
    await loadConfig(source as never);
  } catch (error) {
    if (isKeyswitchError(error, 'CONFIG_INVALID')) return error;
    throw error;
  }
  throw new Error('expected CONFIG_INVALID');
}

/** A copy of `base` with one change applied, for one malformed case. */
export function changed(base: object, change: (config: Record<string, any>) => void): unknown {
  const copy = structuredClone(base) as Record<string, any>;
  change(copy);
  return copy;
}
