import type { Keyswitch } from '@keyswitch/core';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  fuzzParameters,
  mutatedBytes,
  mutatedText,
  outcome,
  outcomeSync,
} from '../../../core/test/support/fuzz.js';
import { decodeEnvelopeString, encodeEnvelopeString, Keyring, parseEnvelope } from '../../src/index.js';
import { encoder, provisioned } from '../support/keyswitch.js';

let ks: Keyswitch;
let keyring: Keyring;
beforeAll(async () => {
  ({ ks } = await provisioned());
  keyring = Keyring.create(ks);
});
afterAll(async () => {
  await keyring.close();
  await ks.close();
});

describe('fuzz: envelopes', () => {
  it('decrypt: a typed error, or the record that was sealed (never a different one)', async () => {
    const cards = keyring.envelopes('pan-kek');
    const record = '4111111111111111';
    const context = { table: 'cards' };
    const sealed = await cards.encrypt(encoder.encode(record), { context });
    const text = encodeEnvelopeString(sealed);
    const inputs = fc.oneof(
      mutatedBytes(sealed),
      mutatedText(text, fc.constantFrom('A', '_', '-', '=', '.', 'v2', '')),
      fc.uint8Array({ maxLength: 200 }),
    );
    await fc.assert(
      fc.asyncProperty(inputs, async (input) => {
        const parsed = outcomeSync(() => parseEnvelope(input));
        if (!parsed.ok) expect(['INVALID_CIPHERTEXT', 'INVALID_INPUT']).toContain(parsed.error.code);
        if (typeof input === 'string') {
          const bytes = outcomeSync(() => decodeEnvelopeString(input));
          if (!bytes.ok) expect(['INVALID_CIPHERTEXT', 'INVALID_INPUT']).toContain(bytes.error.code);
        }
        const opened = await outcome(() => cards.decrypt(input, { context }));
        if (opened.ok) expect(new TextDecoder().decode(opened.value)).toBe(record);
        else expect(opened.error.code).not.toBe('INTERNAL');
      }),
      fuzzParameters(400),
    );
  });
});
