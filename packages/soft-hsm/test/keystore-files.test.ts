import { mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { removeLeftoverTempFiles } from '../src/lib/atomic-write.js';
import { newScryptParameters, scryptParametersAreSane } from '../src/lib/scrypt-key.js';

describe('keystore files', () => {
  it('new keystores use scrypt at OWASP strength; a crafted header cannot ask for more than 512 MiB', () => {
    const fresh = newScryptParameters();
    expect(fresh).toMatchObject({ N: 2 ** 17, r: 8, p: 1 });
    expect(scryptParametersAreSane(fresh)).toBe(true);
    const salt = new Uint8Array(16);
    expect(scryptParametersAreSane({ N: 2 ** 19, r: 8, p: 1, salt })).toBe(true);
    expect(scryptParametersAreSane({ N: 2 ** 20, r: 32, p: 1, salt })).toBe(false);
    expect(scryptParametersAreSane({ N: 2 ** 20, r: 8, p: 1, salt })).toBe(false);
    expect(scryptParametersAreSane({ N: 3000, r: 8, p: 1, salt })).toBe(false);
  });

  it("removes only its own keystore's leftover temporary files, not a sibling keystore's", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'keyswitch-temp-'));
    await writeFile(join(dir, '.dev.keystore.123.0123456789ab.tmp'), 'x');
    await writeFile(join(dir, '.dev.keystore.2.456.0123456789ab.tmp'), 'sibling writer');
    await writeFile(join(dir, '.dev.keystore.notes.tmp'), 'not ours either');
    await removeLeftoverTempFiles(join(dir, 'dev.keystore'));
    expect((await readdir(dir)).sort()).toEqual([
      '.dev.keystore.2.456.0123456789ab.tmp',
      '.dev.keystore.notes.tmp',
    ]);
  });
});
