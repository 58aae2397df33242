import { KeyswitchError } from '@keyswitch/core';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The software HSM's own rule for labels, on top of the core's (1 to 250 letters, digits and `._/:-`,
 * checked before any hook runs): a label must not be shaped like a key id, since a reference may be
 * either.
 *
 * @example
 * ```ts
 * assertLabelNotAnId('acs-signing'); // passes
 * ```
 */
export function assertLabelNotAnId(label: string): void {
  if (UUID.test(label)) {
    throw new KeyswitchError('INVALID_INPUT', 'label must not look like a key id (a UUID)');
  }
}

/**
 * A frozen copy of a request's description and tags, to store with the key. The core has checked them
 * (strings, sizes, counts) before the hook runs; this keeps them as they were asked for.
 *
 * @example
 * ```ts
 * const metadata = keyMetadata({ description: 'ACS signing', tags: { team: 'acs' } });
 * ```
 */
export function keyMetadata(request: {
  readonly description?: string | undefined;
  readonly tags?: Readonly<Record<string, string>> | undefined;
}): { description?: string; tags?: Readonly<Record<string, string>> } {
  const { description, tags } = request;
  return {
    ...(description === undefined ? {} : { description }),
    ...(tags === undefined ? {} : { tags: Object.freeze({ ...tags }) }),
  };
}
