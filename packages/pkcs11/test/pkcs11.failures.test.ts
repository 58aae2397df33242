import { execFileSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Pkcs11Provider } from '../src/index.js';
import { installTestFaults } from '../src/lib/test-faults.js';
import { expectCode } from './support/backend-suite.js';
import { openTarget, target } from './support/targets.js';
import { createTestTokens, type TestTokens } from './support/tokens.js';

// Runs in its own process: the PIN checks must come before any login to these tokens (a PKCS#11 login
// belongs to the process and token, so a second provider on a logged-in token shares it).
const tokens = createTestTokens();
const skip = 'skip' in tokens;

/**
 * A real shared library that is not a PKCS#11 module (zlib: no C_GetFunctionList), found through the
 * dynamic loader's cache. Under CI=true a machine without it fails the suite rather than skipping.
 */
function sharedLibraryWithoutPkcs11(): string | undefined {
  let cache = '';
  try {
    cache = execFileSync('ldconfig', ['-p'], { encoding: 'utf8' });
  } catch {
    // no ldconfig on the PATH (it is in /sbin on some systems): try there
    for (const ldconfig of ['/sbin/ldconfig', '/usr/sbin/ldconfig']) {
      if (existsSync(ldconfig)) cache = execFileSync(ldconfig, ['-p'], { encoding: 'utf8' });
    }
  }
  const found = /^\s*libz\.so\.1 \([^)]*\) => (\S+)$/m.exec(cache)?.[1];
  if (found === undefined && process.env.CI === 'true') {
    throw new Error('no libz.so.1 in the dynamic loader cache: install zlib (Debian zlib1g)');
  }
  return found;
}
const notPkcs11Library = skip ? undefined : sharedLibraryWithoutPkcs11();

describe.skipIf(skip)('PKCS#11 failures: PIN, module, token', () => {
  const ready = tokens as TestTokens;
  const softhsm = skip ? undefined : target('softhsm2', ready);
  const nss = skip ? undefined : target('nss', ready);
  const opened: Pkcs11Provider[] = [];

  afterAll(async () => {
    await Promise.all(opened.map((provider) => provider.close()));
    ready.remove?.();
  });

  it('a wrong PIN is ACCESS_DENIED on both tokens, and the PIN is in no error, log form or stack', async () => {
    for (const which of [softhsm!, nss!]) {
      const error = await expectCode(openTarget(which, { pin: 'wrong-pin-314159' }), 'ACCESS_DENIED');
      expect(error.retryable).toBe(false);
      expect(`${error.message} ${JSON.stringify(error.toJSON())} ${error.stack}`).not.toContain('314159');
      expect(error.message).toContain('CKR_PIN_INCORRECT');
      // The right PIN works after a wrong one.
      opened.push(await openTarget(which));
    }
  });

  it('the AWS CloudHSM profile checks the PIN is user:password, without showing it', async () => {
    const error = await expectCode(
      Pkcs11Provider.open({ ...softhsm!.options, profile: 'cloudhsm', pin: 'no-colon-secret' }),
      'CONFIG_INVALID',
    );
    expect(error.message).not.toContain('no-colon-secret');
  });

  it('bad options are CONFIG_INVALID naming the option', async () => {
    const bad = async (options: Record<string, unknown>, path: string) => {
      const error = await expectCode(
        Pkcs11Provider.open({ ...softhsm!.options, ...options } as never),
        'CONFIG_INVALID',
      );
      expect(error.path).toBe(path);
    };
    await bad({ sessions: 0 }, 'sessions');
    await bad({ token: { label: 'a', slot: 1 } }, 'token');
    await bad({ profile: 'luna' }, 'profile');
    await bad({ execution: 'threads' }, 'execution');
    await bad({ module: '' }, 'module');
  });

  it('a missing or unloadable module is CONFIG_INVALID, not retryable, naming the path and the option', async () => {
    const error = await expectCode(
      openTarget(softhsm!, { module: '/opt/none/libpkcs11-missing.so' }),
      'CONFIG_INVALID',
    );
    expect(error.retryable).toBe(false);
    expect(error.path).toBe('module');
    expect(error.message).toContain('/opt/none/libpkcs11-missing.so');
    const unloadable = await expectCode(
      openTarget(softhsm!, { module: 'libpkcs11-not-on-the-loader-path.so' }),
      'CONFIG_INVALID',
    );
    expect(unloadable.retryable).toBe(false);
    expect(unloadable.message).toContain('failed to load');
  });

  it.skipIf(notPkcs11Library === undefined)(
    'a real shared library that is not a PKCS#11 module (no C_GetFunctionList) is CONFIG_INVALID naming its path',
    async () => {
      const notPkcs11 = await expectCode(
        openTarget(softhsm!, { module: notPkcs11Library! }),
        'CONFIG_INVALID',
      );
      expect(notPkcs11.retryable).toBe(false);
      expect(notPkcs11.path).toBe('module');
      expect(notPkcs11.message).toContain(notPkcs11Library!);
    },
  );

  it('a signature C_Verify refuses with CKR_FUNCTION_FAILED or CKR_GENERAL_ERROR does not verify: false, no error', async () => {
    const owner = await openTarget(softhsm!);
    opened.push(owner);
    const key = await owner.createKey({ spec: 'ECC_NIST_P256', usage: 'SIGN_VERIFY', label: 'forged' });
    const message = Buffer.from('m');
    const signature = await owner.sign({ ref: key.ref, algorithm: 'ECDSA_SHA_256', message });
    const faults = installTestFaults([
      { function: 'C_Verify', error: 'CKR_FUNCTION_FAILED', times: 0 },
      { function: 'C_Verify', error: 'CKR_GENERAL_ERROR', times: 0 },
      { function: 'C_VerifyInit', error: 'CKR_FUNCTION_FAILED', times: 0 },
    ]);
    try {
      const provider = await openTarget(softhsm!, { profile: 'generic' });
      opened.push(provider);
      const input = { ref: key.ref, algorithm: 'ECDSA_SHA_256', message, signature } as const;
      expect(await provider.verify(input)).toBe(true);
      for (const index of [0, 1]) {
        faults.arm(index, 1);
        expect(await provider.verify(input)).toBe(false);
        expect(faults.hits(index)).toBe(1);
      }
      // C_VerifyInit has not seen the signature: its failure is an error (INTERNAL naming the call), not false.
      faults.arm(2, 1);
      const error = await expectCode(provider.verify(input), 'INTERNAL');
      expect(error.retryable).toBe(false);
      expect(error.message).toContain('C_VerifyInit failed: CKR_FUNCTION_FAILED');
      expect(await provider.verify(input)).toBe(true);
    } finally {
      faults.remove();
    }
  });

  it('a module already initialized with other libraryParameters is CONFIG_INVALID (one C_Initialize per process)', async () => {
    const error = await expectCode(
      openTarget(nss!, { libraryParameters: "configdir='sql:/nonexistent'" }),
      'CONFIG_INVALID',
    );
    expect(error.message).toContain('libraryParameters');
  });

  it('a token that goes away is UNAVAILABLE (retryable) and never hangs', async () => {
    // A deadline far past the test's own timeout: an answer that came only from the deadline would fail
    // the test by timing it out. The token's absence must be reported by the token's answers.
    const provider = await openTarget(softhsm!, { operationTimeoutMs: 600_000 });
    opened.push(provider);
    const key = await provider.createKey({ spec: 'ECC_NIST_P256', usage: 'SIGN_VERIFY', label: 'doomed' });
    const message = Buffer.from('m');
    await provider.sign({ ref: key.ref, algorithm: 'ECDSA_SHA_256', message });
    // Remove SoftHSM2's token store under the running provider.
    rmSync(join(ready.dir, 'softhsm2', 'tokens'), { recursive: true, force: true });
    const error = await expectCode(
      provider.sign({ ref: key.ref, algorithm: 'ECDSA_SHA_256', message }),
      'UNAVAILABLE',
    );
    expect(error.retryable).toBe(true);
    await expectCode(provider.describeKey('pkcs11:object=doomed'), 'UNAVAILABLE');
    await expectCode(provider.describeKey('pkcs11:object=never-existed'), 'UNAVAILABLE');
    // And a new provider cannot find the token at all.
    await expectCode(openTarget(softhsm!), 'UNAVAILABLE');
  });
});
