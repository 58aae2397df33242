import { SoftHsm } from '@keyswitch/soft-hsm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunKeys } from '../src/lib/run-keys.js';

let hsm: SoftHsm;

beforeAll(async () => {
  hsm = await SoftHsm.open({ environment: 'test' });
});

afterAll(async () => {
  await hsm?.close();
});

describe('RunKeys: what a conformance run may touch', () => {
  it("records the keys created through it, refuses to change the user's keys, and schedules its own for deletion", async () => {
    const usersKey = await hsm.createKey({
      spec: 'HMAC_256',
      usage: 'GENERATE_VERIFY_MAC',
      label: 'users-key',
    });
    const runKeys = new RunKeys();
    const provider = runKeys.wrap(hsm);
    expect(provider.name).toBe(hsm.name);
    const ours = await provider.createKey({
      spec: 'HMAC_256',
      usage: 'GENERATE_VERIFY_MAC',
      label: 'run-1-mac',
    });
    expect(runKeys.owns('run-1-mac')).toBe(true);
    expect(runKeys.owns(ours.keyId)).toBe(true);

    await expect(provider.disableKey('users-key')).rejects.toMatchObject({ code: 'ACCESS_DENIED' });
    await expect(provider.scheduleKeyDeletion(usersKey.keyId)).rejects.toMatchObject({
      code: 'ACCESS_DENIED',
    });
    await expect(provider.disableKey('run-1-missing')).rejects.toMatchObject({ code: 'KEY_NOT_FOUND' });
    await provider.disableKey('run-1-mac');
    expect((await hsm.describeKey('run-1-mac')).state).toBe('DISABLED');

    const cleaned = await runKeys.cleanUp(async () => hsm);
    expect(cleaned).toEqual([expect.objectContaining({ label: 'run-1-mac', action: 'scheduled-deletion' })]);
    expect((await hsm.describeKey('run-1-mac')).state).toBe('PENDING_DELETION');
    expect((await hsm.describeKey('users-key')).state).toBe('ENABLED');
    expect((await runKeys.cleanUp(async () => hsm))[0]?.action).toBe('already-scheduled');
  });
});
