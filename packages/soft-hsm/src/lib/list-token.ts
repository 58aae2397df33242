import { KeyswitchError } from '@keyswitch/core';
import type { KeyRecord } from './key-record.js';

/** Where a key sits in listing order: creation time, then id. */
export interface ListPosition {
  readonly createdAt: number;
  readonly id: string;
}

/** Orders keys for listing: oldest first, ties by id, so pages are stable while keys come and go. */
export function compareListPosition(a: ListPosition, b: ListPosition): number {
  return a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** The listing position of a record. */
export function listPosition(record: KeyRecord): ListPosition {
  return { createdAt: record.createdAt.getTime(), id: record.id };
}

/** The opaque `nextToken` for the page after `last`. */
export function encodeListToken(last: ListPosition): string {
  return Buffer.from(`${last.createdAt}:${last.id}`, 'utf8').toString('base64url');
}

/**
 * Reads a `nextToken` made by {@link encodeListToken}.
 *
 * @throws INVALID_INPUT for a token this provider did not issue
 */
export function decodeListToken(token: string): ListPosition {
  const match = /^(\d{1,16}):([0-9a-f-]{36})$/.exec(Buffer.from(token, 'base64url').toString('utf8'));
  if (!match) throw new KeyswitchError('INVALID_INPUT', 'nextToken is not a token this provider issued');
  return { createdAt: Number(match[1]), id: match[2]! };
}
