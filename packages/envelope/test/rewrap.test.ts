import type { AuditEvent, Keyswitch, KeyVersionsConfig } from '@keyswitch/core';
import { afterEach, describe, expect, it } from 'vitest';
import {
  Keyring,
  parseEnvelope,
  type RewrapProgress,
  type RewrapRecordResult,
  rewrap,
  rewrapRecords,
} from '../src/index.js';
import { backendCalls, encoder, provisioned, rejection } from './support/keyswitch.js';

let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const step of cleanup.reverse()) await step();
  cleanup = [];
});

/** card-data: version 1 on the "kms" backend; version 2 (when listed) on the "hsm" backend. */
const versions = (...ids: ('v1' | 'v2')[]): KeyVersionsConfig => ({
  'card-data': {
    versions: ids.map((id) =>
      id === 'v1'
        ? { id, provider: 'kms', ref: 'pan-kek-2024' }
        : { id, provider: 'hsm', ref: 'pan-kek-2025' },
    ),
  },
});

async function setup(): Promise<{
  ks: Keyswitch;
  events: AuditEvent[];
  open: (...ids: ('v1' | 'v2')[]) => Keyring;
}> {
  const { ks, events } = await provisioned();
  cleanup.push(() => ks.close());
  const open = (...ids: ('v1' | 'v2')[]) => {
    const keyring = Keyring.create(ks, { versions: versions(...ids) });
    cleanup.push(() => keyring.close());
    return keyring;
  };
  return { ks, events, open };
}

const tail = (envelope: Uint8Array) => {
  const { iv, ciphertext, tag } = parseEnvelope(envelope);
  return Buffer.concat([iv, ciphertext, tag]).toString('hex');
};

describe('rewrap', () => {
  it('moves one envelope to the active version on another backend without touching the bulk ciphertext', async () => {
    const { ks, events, open } = await setup();
    const sealed = await open('v1')
      .envelopes('card-data')
      .encrypt(encoder.encode('4111111111111111'), {
        context: { table: 'cards' },
      });
    const keyring = open('v1', 'v2');
    const result = await rewrap(keyring, sealed, { context: { table: 'cards' } });
    expect(result).toMatchObject({ changed: true, keyName: 'card-data', fromVersion: 'v1', toVersion: 'v2' });
    const moved = result.envelope;
    expect(parseEnvelope(moved).keyVersion).toBe('v2');
    expect(tail(moved)).toBe(tail(sealed));
    expect(
      Buffer.from(parseEnvelope(moved).wrappedDataKey).equals(parseEnvelope(sealed).wrappedDataKey),
    ).toBe(false);

    // The new wrapped key opens on the "hsm" backend, and node:crypto decrypts the unchanged bulk with it.
    const envelope = parseEnvelope(moved);
    const dataKey = await (await ks.provider('hsm')).decrypt({
      ref: 'pan-kek-2025',
      algorithm: 'SYMMETRIC_DEFAULT',
      ciphertext: envelope.wrappedDataKey,
      context: { table: 'cards' },
    });
    expect(dataKey).toHaveLength(32);
    // Salt and commitment are those of the original: the header's wrapped copy changed, nothing else.
    expect(Buffer.from(envelope.salt!)).toEqual(Buffer.from(parseEnvelope(sealed).salt!));
    expect(Buffer.from(envelope.commitment!)).toEqual(Buffer.from(parseEnvelope(sealed).commitment!));
    const onlyNew = open('v2').envelopes('card-data');
    expect(Buffer.from(await onlyNew.decrypt(moved, { context: { table: 'cards' } })).toString()).toBe(
      '4111111111111111',
    );

    // Idempotent: an envelope under the active version comes back as is, with no backend call.
    const before = backendCalls(events);
    const again = await rewrap(keyring, moved, { context: { table: 'cards' } });
    expect(again).toMatchObject({ changed: false, fromVersion: 'v2', toVersion: 'v2' });
    expect(again.envelope).toBe(moved);
    expect(backendCalls(events)).toBe(before);
  });

  it('keeps the string form, and uses a stored context', async () => {
    const { open } = await setup();
    const text = await open('v1')
      .envelopes('card-data', { storeContext: true })
      .encryptToString(encoder.encode('x'), { context: { table: 'cards' } });
    const keyring = open('v1', 'v2');
    const { envelope } = await rewrap(keyring, text);
    expect(typeof envelope).toBe('string');
    expect(parseEnvelope(envelope)).toMatchObject({ keyVersion: 'v2', storedContext: { table: 'cards' } });
    expect(Buffer.from(await keyring.envelopes('card-data').decrypt(envelope)).toString()).toBe('x');
  });

  it('re-wraps a stream of records; every record then decrypts with the old key disabled', async () => {
    const { ks, events, open } = await setup();
    const writer = open('v1').envelopes('card-data');
    const stored = new Map<number, Uint8Array>();
    for (let id = 0; id < 1000; id++) {
      stored.set(id, await writer.encrypt(encoder.encode(`record ${id}`), { context: { table: 'cards' } }));
    }
    async function* rows() {
      for (const [id, envelope] of stored) yield { id, envelope, context: { table: 'cards' } };
    }
    const original = stored.get(0)!;
    const keyring = open('v1', 'v2');
    const progress: RewrapProgress[] = [];
    const before = backendCalls(events);
    const results: RewrapRecordResult<number>[] = [];
    for await (const result of rewrapRecords(keyring, rows(), {
      onProgress: (p) => progress.push(p),
      concurrency: 8,
    })) {
      results.push(result);
      if (result.status === 'rewrapped') stored.set(result.id!, result.envelope as Uint8Array);
    }
    expect(results.map((r) => r.id)).toEqual([...stored.keys()]); // input order
    expect(
      results.every((r) => r.status === 'rewrapped' && r.fromVersion === 'v1' && r.toVersion === 'v2'),
    ).toBe(true);
    expect(progress).toHaveLength(1000);
    expect(progress.at(-1)).toEqual({ processed: 1000, rewrapped: 1000, unchanged: 0, failed: 0 });
    // The records shared one data key: one unwrap on "kms", one wrap on "hsm", and each version's
    // first-use describe.
    expect(backendCalls(events) - before).toBe(4);

    await (await ks.provider('kms')).disableKey('pan-kek-2024');
    const reader = open('v1', 'v2').envelopes('card-data');
    for (const [id, envelope] of stored) {
      expect(Buffer.from(await reader.decrypt(envelope, { context: { table: 'cards' } })).toString()).toBe(
        `record ${id}`,
      );
    }
    // The old key really is off: an envelope still under v1 no longer opens (in a keyring that has not
    // cached its data key through v2).
    const stale = await rejection(
      open('v1', 'v2')
        .envelopes('card-data')
        .decrypt(original, { context: { table: 'cards' } }),
    );
    expect(stale).toMatchObject({ code: 'KEY_DISABLED', keyName: 'card-data', provider: 'kms' });

    // A second run changes nothing and calls no backend.
    const calls = backendCalls(events);
    const second = [];
    for await (const result of rewrapRecords(open('v1', 'v2'), rows())) second.push(result.status);
    expect(second.every((status) => status === 'unchanged')).toBe(true);
    expect(backendCalls(events)).toBe(calls);
  });

  it('reports failing records and goes on, or stops at the first', async () => {
    const { open } = await setup();
    const writer = open('v1').envelopes('card-data');
    const good = await writer.encrypt(encoder.encode('a'), { context: { table: 'cards' } });
    const records = [
      { id: 'good', envelope: good, context: { table: 'cards' } },
      { id: 'no-context', envelope: good },
      { id: 'garbage', envelope: 'not-an-envelope' },
    ];
    const keyring = open('v1', 'v2');
    const results = [];
    for await (const result of rewrapRecords(keyring, records, { continueOnError: true }))
      results.push(result);
    expect(results.map((r) => [r.id, r.status, r.error?.code])).toEqual([
      ['good', 'rewrapped', undefined],
      ['no-context', 'failed', 'INVALID_CIPHERTEXT'],
      ['garbage', 'failed', 'INVALID_CIPHERTEXT'],
    ]);
    const stop = async () => {
      for await (const _ of rewrapRecords(keyring, records)) {
        // consume
      }
    };
    expect((await rejection(stop)).code).toBe('INVALID_CIPHERTEXT');
  });

  it('checks the bulk ciphertext on request before re-wrapping', async () => {
    const { open } = await setup();
    const sealed = Buffer.from(await open('v1').envelopes('card-data').encrypt(encoder.encode('record')));
    sealed[sealed.length - 20] ^= 1;
    const keyring = open('v1', 'v2');
    expect((await rewrap(keyring, sealed)).changed).toBe(true);
    expect((await rejection(rewrap(keyring, sealed, { verify: true }))).code).toBe('INVALID_CIPHERTEXT');
  });

  it('names an envelope whose key is not configured', async () => {
    const { ks, open } = await setup();
    const sealed = await open('v1').envelopes('card-data').encrypt(encoder.encode('x'));
    const error = await rejection(rewrap(Keyring.create(ks), sealed));
    expect(error).toMatchObject({ code: 'CONFIG_INVALID', keyName: 'card-data' });
  });
});
