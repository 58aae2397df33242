import { createPublicKey, verify } from 'node:crypto';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { Pkcs11Provider } from '../src/index.js';
import { CKA } from '../src/lib/ck.js';
import { PROBE_LABEL } from '../src/lib/probe-keys.js';
import { installTestFaults } from '../src/lib/test-faults.js';
import type { Fault } from '../src/lib/worker-protocol.js';
import { expectCode } from './support/backend-suite.js';
import { quirkFaults } from './support/quirky-token.js';
import { openTarget, target } from './support/targets.js';
import { createTestTokens, type TestTokens } from './support/tokens.js';

// Providers on a real SoftHSM2 token whose worker threads play the habits of other tokens (the fault
// layer refusing the templates such a token refuses). Each test closes its providers, so that the next
// one gets a probe of its own (providers of one token share a probe while any is open).
const tokens = createTestTokens();
const skip = 'skip' in tokens;
const message = Buffer.from('keyswitch quirky token');

describe.skipIf(skip)('PKCS#11 providers on tokens with habits no mechanism list shows', () => {
  const ready = tokens as TestTokens;
  const softhsm = skip ? undefined : target('softhsm2', ready);
  const opened: Pkcs11Provider[] = [];
  let removeFaults: (() => void) | undefined;
  const open = async (faults: readonly Fault[], overrides: Parameters<typeof openTarget>[1] = {}) => {
    const installed = installTestFaults(faults);
    removeFaults = installed.remove;
    const provider = await openTarget(softhsm!, { profile: 'generic', ...overrides });
    opened.push(provider);
    return { provider, faults: installed };
  };

  afterEach(async () => {
    removeFaults?.();
    await Promise.all(opened.splice(0).map((provider) => provider.close()));
  });
  afterAll(() => ready.remove?.());

  it('a token that refuses explicit false usage attributes creates keys carrying only their usage', async () => {
    const { provider, faults } = await open(quirkFaults({ refuseExplicitFalse: true }));
    const capabilities = await provider.capabilities();
    expect(capabilities.operations.createKey).toBe(true);
    expect(capabilities.notes).toContain(
      'the token refuses usage attributes set false in a template: keyswitch sends only the ones that are true',
    );
    // Templates with an explicit false were refused (the probe's first try), and createKey sends none.
    const refusedBefore = faults.hits(1);
    expect(refusedBefore).toBeGreaterThan(0);
    const key = await provider.createKey({ spec: 'ECC_NIST_P256', usage: 'SIGN_VERIFY', label: 'only-true' });
    expect(faults.hits(1)).toBe(refusedBefore);
    const described = await provider.describeKey(key.ref);
    expect(described).toMatchObject({ spec: 'ECC_NIST_P256', usage: 'SIGN_VERIFY', state: 'ENABLED' });
    const signature = await provider.sign({ ref: key.ref, algorithm: 'ECDSA_SHA_256', message });
    const spki = (await provider.getPublicKey(key.ref)).spki;
    const publicKey = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
    expect(verify('sha256', message, publicKey, signature)).toBe(true);
    // Only its usage, though the template could not say false to the others.
    expect(described.usages ?? [described.usage]).toEqual(['SIGN_VERIFY']);
  });

  it('RSA sizes the token refuses at generation, though its mechanism info allows them, are withdrawn on the first refusal', async () => {
    const { provider, faults } = await open(quirkFaults({ refuseRsaAboveBits: 3072 }));
    const before = await provider.capabilities();
    // Offered from the mechanism's range (SoftHSM2 states up to 16384 bits): the probe makes one small key.
    expect(before.keySpecs.RSA_4096?.create).toBe(true);
    const error = await expectCode(
      provider.createKey({ spec: 'RSA_4096', usage: 'SIGN_VERIFY', label: 'too-large' }),
      'UNSUPPORTED_ALGORITHM',
    );
    expect(error.retryable).toBe(false);
    expect(error.message).toContain('RSA_4096');
    expect(error.message).toContain('CKR_KEY_SIZE_RANGE');
    expect(error.message).toContain('no longer offered');
    const refusals = faults.hits(1);
    expect(refusals).toBe(1);
    // The manifest now says so, and the next attempt is refused before it reaches the token.
    const after = await provider.capabilities();
    expect(after.keySpecs.RSA_4096?.create).toBe(false);
    expect(after.keySpecs.RSA_3072?.create).toBe(true);
    await expectCode(
      provider.createKey({ spec: 'RSA_4096', usage: 'SIGN_VERIFY', label: 'too-large' }),
      'UNSUPPORTED_ALGORITHM',
    );
    expect(faults.hits(1)).toBe(refusals);
    expect((await provider.listKeys()).keys.some((key) => key.aliases.includes('too-large'))).toBe(false);
  });

  it('a probe held past its deadline under refused session objects leaves nothing once the next probe ran', async () => {
    // The token refuses session objects, so the probe's keys are token objects. The HMAC_384 key's
    // generation (after the RSA, EC, AES and HMAC_256 keys exist) is held far past the probe's deadline,
    // and the provider goes away meanwhile, as a process that dies would: that probe never cleans up.
    const held: Fault = {
      function: 'C_GenerateKey',
      delayMs: 10_000,
      times: 1,
      when: { attributes: [CKA.VALUE_LEN], above: 32 },
    };
    const first = await open([...quirkFaults({ refuseSessionObjects: true }), held], {
      operationTimeoutMs: 2_000,
    });
    const probing = first.provider.capabilities();
    // The worker reaches the held generation whatever the deadline did meanwhile (a loaded machine).
    await expect.poll(() => first.faults.hits(2), { timeout: 30_000, interval: 50 }).toBe(1);
    await expectCode(probing, 'UNAVAILABLE');
    await first.provider.close();
    opened.splice(0);
    removeFaults?.();

    const { provider } = await open([]);
    const notes = (await provider.capabilities()).notes ?? [];
    const destroyed = notes.map((note) => /^destroyed (\d+) objects labelled /.exec(note)?.[1]).find(Boolean);
    // RSA, P-256/384/521 pairs, the AES and HMAC_256 keys: at least the RSA pair and one EC pair.
    expect(Number(destroyed)).toBeGreaterThanOrEqual(4);
    const probeKeys = (await provider.listKeys()).keys.filter((key) => key.aliases.includes(PROBE_LABEL));
    expect(probeKeys).toEqual([]);
  });
});
