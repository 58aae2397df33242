import {
  algorithmsFor,
  type KeyDescription,
  type KeySpec,
  type KeyState,
  type KeyUsage,
} from '@keyswitch/core';
import type { KeyMaterial } from './key-material.js';

/** How a key came to be in the software HSM. */
export type KeyOrigin = 'GENERATED' | 'IMPORTED';

/** One key as the software HSM holds it. Records are immutable: a change makes a new record. */
export interface KeyRecord {
  /** A random UUID. */
  readonly id: string;
  /** The key's name, unique in the HSM. */
  readonly label?: string;
  readonly spec: KeySpec;
  readonly usage: KeyUsage;
  readonly state: KeyState;
  readonly origin: KeyOrigin;
  readonly createdAt: Date;
  readonly deletionDate?: Date;
  readonly description?: string;
  readonly tags?: Readonly<Record<string, string>>;
  readonly material: KeyMaterial;
}

/** The public description of a key: its ref is its label when it has one, else its id. No key material. */
export function describeRecord(record: KeyRecord): KeyDescription {
  return {
    ref: record.label ?? record.id,
    keyId: record.id,
    aliases: record.label === undefined ? [] : [record.label],
    spec: record.spec,
    usage: record.usage,
    algorithms: algorithmsFor(record.spec, record.usage),
    state: record.state,
    createdAt: new Date(record.createdAt),
    ...(record.deletionDate === undefined ? {} : { deletionDate: new Date(record.deletionDate) }),
    ...(record.description === undefined ? {} : { description: record.description }),
    ...(record.tags === undefined ? {} : { tags: { ...record.tags } }),
  };
}

/** Whether a key pending deletion has reached its deletion date. */
export function isPastDeletion(record: KeyRecord, now: Date): boolean {
  return (
    record.state === 'PENDING_DELETION' && record.deletionDate !== undefined && now >= record.deletionDate
  );
}
