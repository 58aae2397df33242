import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scanJson } from '../../src/config/scan-json.js';
import { loadConfig } from '../../src/index.js';
import { fuzzParameters, mutatedText, outcome } from '../support/fuzz.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'keyswitch-fuzz-config-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const VALID = JSON.stringify(
  {
    environment: 'test',
    providers: { hsm: { type: 'pkcs11', pin: { env: 'HSM_PIN' } }, dev: { type: 'soft-hsm' } },
    keys: {
      'acs-signing': {
        provider: 'hsm',
        ref: 'pkcs11:object=acs',
        spec: 'ECC_NIST_P256',
        algorithm: 'ECDSA_SHA_256',
      },
      'pan-kek': { provider: 'dev', ref: 'pan-kek', spec: 'SYMMETRIC_DEFAULT' },
    },
    versions: { 'pan-kek-v': { versions: [{ id: '1', key: 'pan-kek' }] } },
    audit: { file: 'audit.jsonl', fsync: 'never', failClosed: true },
  },
  null,
  2,
);
/** A secret-looking token: letters and digits no configuration message uses. */
const SECRET = 'Zq7Xw9Kp4Vb2';

const jsonish = fc.constantFrom(
  '{',
  '}',
  '[',
  ']',
  '"',
  ':',
  ',',
  ' ',
  '\n',
  '\\',
  'x',
  '1',
  '-',
  'e',
  '.',
  'true',
  'null',
  '__proto__',
  '"constructor"',
);

describe('fuzz: configuration', () => {
  it('the tokenizer accepts exactly what JSON.parse accepts (but for repeated properties)', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ maxLength: 40 }), fc.json({ maxDepth: 3 }), mutatedText(VALID, jsonish)),
        (text) => {
          const problem = scanJson(text);
          let parses = true;
          try {
            JSON.parse(text);
          } catch {
            parses = false;
          }
          if (problem && /repeated/.test(problem.expected)) expect(parses).toBe(true);
          else expect(problem === undefined).toBe(parses);
          if (problem) expect(problem.offset).toBeLessThanOrEqual(text.length);
        },
      ),
      fuzzParameters(3000),
    );
  });

  it('a malformed file gives CONFIG_INVALID with a position, never any of its text', async () => {
    const file = join(dir, 'keyswitch.json');
    // The secret is a value (pasted without quotes, or quoted), and the file is broken around it: a
    // quote dropped, junk inserted, parts cut. Names are not secrets; values never appear.
    const withSecret = fc.oneof(
      mutatedText(VALID.replace('"HSM_PIN"', SECRET), jsonish),
      mutatedText(VALID.replace('"HSM_PIN"', `"${SECRET}"`), jsonish),
    );
    await fc.assert(
      fc.asyncProperty(withSecret, async (text) => {
        await writeFile(file, text);
        const result = await outcome(() => loadConfig(file));
        if (result.ok) return;
        expect(result.error.code).toBe('CONFIG_INVALID');
        const printed = `${result.error.message}\n${result.error.stack}\n${JSON.stringify(result.error.toJSON())}`;
        if (/is not valid JSON/.test(result.error.message)) {
          expect(result.error.message).toMatch(/at line \d+, column \d+: expected /);
          for (let i = 0; i + 4 <= SECRET.length; i++) expect(printed).not.toContain(SECRET.slice(i, i + 4));
          expect(result.error.cause).toBeUndefined();
        }
      }),
      fuzzParameters(300),
    );
  });

  it('any value as a configuration object ends in a configuration or CONFIG_INVALID', async () => {
    const names = fc.constantFrom(
      'dev',
      'hsm',
      '__proto__',
      'constructor',
      'prototype',
      'a b',
      '',
      'k'.repeat(200),
    );
    const section = fc.dictionary(names, fc.anything({ maxDepth: 2 }), { maxKeys: 3 });
    const config = fc.record(
      {
        environment: fc.oneof(fc.constantFrom('test', 'production'), fc.anything({ maxDepth: 0 })),
        providers: fc.oneof(section, fc.anything({ maxDepth: 1 })),
        keys: fc.oneof(section, fc.anything({ maxDepth: 1 })),
        versions: fc.oneof(section, fc.anything({ maxDepth: 1 })),
        audit: fc.anything({ maxDepth: 1 }),
      },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(fc.oneof(config, fc.anything({ maxDepth: 3 })), async (raw) => {
        const result = await outcome(() => loadConfig(raw as never));
        if (!result.ok) expect(result.error.code).toBe('CONFIG_INVALID');
        else {
          for (const part of ['providers', 'keys'] as const) {
            for (const reserved of ['__proto__', 'constructor', 'prototype']) {
              expect(Object.hasOwn(result.value.config[part], reserved)).toBe(false);
            }
          }
        }
      }),
      fuzzParameters(500),
    );
  });
});
