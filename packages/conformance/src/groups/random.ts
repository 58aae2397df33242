import { LIMITS } from '@keyswitch/core';
import { check, expectCode } from '../lib/assertions.js';
import { defineGroup, type Session } from '../lib/group.js';
import { hex } from '../lib/hex-preview.js';
import { resolveSuiteOptions } from '../lib/suite-options.js';
import type { SuiteOptions } from '../options.js';

/**
 * The random group: generateRandom returns the asked number of bytes (1 to 1,024), different bytes each
 * call, bytes without gross bias, and INVALID_INPUT for 0 or more than the limit.
 *
 * @example
 * ```ts
 * randomTests({ describe, it, beforeAll, afterAll, createProvider: () => SoftHsm.open() });
 * ```
 */
export function randomTests(options: SuiteOptions): void {
  const resolved = resolveSuiteOptions(options);
  defineGroup(resolved, 'random', 'random', [], (group) => {
    const required = (session: Session) =>
      session.requireOperation('generateRandom', () => session.provider.generateRandom(16));

    group.test('returns the number of bytes asked for', async (session) => {
      await required(session);
      for (const length of [1, 16, 32, LIMITS.maxRandomBytes]) {
        const bytes = await session.provider.generateRandom(length);
        check(
          bytes instanceof Uint8Array && bytes.byteLength === length,
          `asked for ${length} bytes, got ${bytes?.byteLength}`,
        );
      }
    });

    group.test('returns different bytes each call', async (session) => {
      await required(session);
      const seen = new Set<string>();
      for (let call = 0; call < 8; call++) seen.add(hex(await session.provider.generateRandom(32)));
      check(seen.size === 8, `8 calls of 32 bytes gave only ${seen.size} different values`);
    });

    group.test('bytes show no gross bias', async (session) => {
      await required(session);
      const bytes = await session.provider.generateRandom(LIMITS.maxRandomBytes);
      const distinct = new Set(bytes).size;
      let ones = 0;
      for (const byte of bytes) for (let bit = 0; bit < 8; bit++) ones += (byte >> bit) & 1;
      // 1,024 uniform bytes: about 251 distinct values, 4,096 ± 45 one bits; these bounds are ~9 sigma wide.
      check(distinct >= 200, `1,024 random bytes hold only ${distinct} distinct values`);
      check(Math.abs(ones - 4096) <= 400, `1,024 random bytes hold ${ones} one bits of 8,192`);
    });

    group.test('0 bytes, or more than the limit, fails with INVALID_INPUT', async (session) => {
      await required(session);
      for (const length of [0, LIMITS.maxRandomBytes + 1]) {
        await expectCode(
          () => session.provider.generateRandom(length),
          'INVALID_INPUT',
          `generateRandom(${length})`,
        );
      }
    });
  });
}
