import { KeyswitchError } from '@keyswitch/core';

const LABEL = /^[\w./:-]{1,250}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Checks a key label: 1 to 250 letters, digits and `._/:-` (the core's rule for labels), and not shaped
 * like a key id, since a reference may be either.
 */
export function assertLabel(label: unknown): asserts label is string {
  if (typeof label !== 'string' || !LABEL.test(label)) {
    throw new KeyswitchError(
      'INVALID_INPUT',
      'label must be 1 to 250 characters of letters, digits and ._/:-',
    );
  }
  if (UUID.test(label)) {
    throw new KeyswitchError('INVALID_INPUT', 'label must not look like a key id (a UUID)');
  }
}

/** A checked copy of a request's description and tags: strings only, as AWS KMS takes them. */
export function keyMetadata(request: { readonly description?: unknown; readonly tags?: unknown }): {
  description?: string;
  tags?: Readonly<Record<string, string>>;
} {
  const { description, tags } = request;
  if (description !== undefined && (typeof description !== 'string' || description.length > 8192)) {
    throw new KeyswitchError('INVALID_INPUT', 'description must be a string of at most 8,192 characters');
  }
  if (tags !== undefined) {
    if (typeof tags !== 'object' || tags === null || Array.isArray(tags)) {
      throw new KeyswitchError('INVALID_INPUT', 'tags must be an object of strings');
    }
    for (const [key, value] of Object.entries(tags)) {
      if (key.length === 0 || typeof value !== 'string') {
        throw new KeyswitchError('INVALID_INPUT', 'tags must be an object of strings with non-empty keys');
      }
    }
  }
  return {
    ...(description === undefined ? {} : { description: description as string }),
    ...(tags === undefined ? {} : { tags: Object.freeze({ ...(tags as Record<string, string>) }) }),
  };
}
