import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorkspace, testConfig, type Workspace } from './cli-harness.js';

let workspace: Workspace;

beforeAll(async () => {
  const config = {
    ...testConfig({ 'pan-kek-2024': { provider: 'dev', ref: 'pan-kek-2024', spec: 'SYMMETRIC_DEFAULT' } }),
    versions: {
      'card-kek': {
        versions: [
          { id: '2024', key: 'pan-kek-2024' },
          { id: '2025', provider: 'other', ref: 'pan-kek-2025' },
        ],
      },
    },
  };
  workspace = await createWorkspace(config);
});

afterAll(async () => {
  await workspace?.remove();
});

describe('keyswitch keys create on a versioned key', () => {
  it('creates the backend key of every missing version, then answers KEY_EXISTS', async () => {
    expect((await workspace.run(['keys', 'create', 'pan-kek-2024'])).exitCode).toBe(0);
    const created = await workspace.run(['keys', 'create', 'card-kek', '--json']);
    expect(created.stderr).toBe('');
    expect(created.exitCode).toBe(0);
    expect(JSON.parse(created.stdout)).toMatchObject({
      key: 'card-kek',
      versions: [
        { id: '2024', provider: 'dev', ref: 'pan-kek-2024', created: false },
        { id: '2025', provider: 'other', ref: 'pan-kek-2025', created: true },
      ],
    });
    const listed = JSON.parse(
      (await workspace.run(['keys', 'list', '--provider', 'other', '--json'])).stdout,
    );
    expect(JSON.stringify(listed)).toContain('pan-kek-2025');
    const again = await workspace.run(['keys', 'create', 'card-kek']);
    expect(again.exitCode).toBe(1);
    expect(again.stderr).toMatch(/KEY_EXISTS: every version of "card-kek" already exists/);
  });
});
