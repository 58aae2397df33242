import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { configJsonSchema, configSchema } from '../src/index.js';

const root = join(import.meta.dirname, '..', '..', '..');
const published = JSON.parse(readFileSync(join(root, 'packages/core/schema.json'), 'utf8'));

/** Every configuration file the repository ships as an example. */
function exampleConfigs(): string[] {
  const files = readdirSync(join(root, 'examples/configs')).map((file) => join('examples/configs', file));
  for (const example of readdirSync(join(root, 'examples'), { withFileTypes: true })) {
    if (!example.isDirectory()) continue;
    const dir = join('examples', example.name);
    const entries = readdirSync(join(root, dir));
    if (entries.includes('keyswitch.json')) files.push(join(dir, 'keyswitch.json'));
    if (entries.includes('configs') && example.name !== 'configs')
      for (const file of readdirSync(join(root, dir, 'configs'))) files.push(join(dir, 'configs', file));
  }
  return files.filter((file) => file.endsWith('.json'));
}

describe('the JSON Schema of keyswitch.json', () => {
  const validate = new Ajv2020({ allErrors: true, strict: false }).compile(published);

  it('is published as generated from the zod schema (run pnpm build after changing the schema)', () => {
    expect(published).toEqual(configJsonSchema());
  });

  it('accepts every example configuration, each of which names it in $schema', () => {
    const files = exampleConfigs();
    expect(files.length).toBeGreaterThanOrEqual(7);
    for (const file of files) {
      const config = JSON.parse(readFileSync(join(root, file), 'utf8'));
      expect(validate(config), `${file}: ${JSON.stringify(validate.errors)}`).toBe(true);
      expect(config.$schema, file).toMatch(/packages\/core\/schema\.json$/);
      expect(configSchema.safeParse(config).success, file).toBe(true);
    }
  });

  it('rejects what the loader rejects: an unknown field, a wrong spec, a key without provider', () => {
    const base = { providers: { dev: { type: 'soft-hsm' } }, keys: {} };
    expect(validate(base)).toBe(true);
    expect(validate({ ...base, keyz: {} })).toBe(false);
    expect(validate({ ...base, keys: { k: { provider: 'dev', ref: 'k', spec: 'RSA_1024' } } })).toBe(false);
    expect(validate({ ...base, keys: { k: { ref: 'k', spec: 'HMAC_256' } } })).toBe(false);
    expect(validate({ ...base, providers: { dev: {} } })).toBe(false);
  });
});
