// Runs examples/3ds (a DS and an ACS as two processes over loopback HTTP, and the 3DS SDK side) on each
// backend, switching only the configuration file, as child processes on the BUILT packages (`pnpm test`
// builds first). Then checks the messages it exchanged independently: the ACS signed content with the
// `jose` package, its certificate chain with OpenSSL.
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compactVerify, decodeProtectedHeader, importX509 } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { softHsm2Tokens } from './support/softhsm2-tokens.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const exampleDir = join(root, 'examples/3ds');
const CI = process.env['CI'] === 'true';
const work = mkdtempSync(join(tmpdir(), 'keyswitch-3ds-example-'));

afterAll(() => rmSync(work, { recursive: true, force: true }));

const PACKAGES = ['core', 'soft-hsm', 'pkcs11', 'aws-kms', 'kms-local', 'jose', 'x509'];
beforeAll(() => {
  const missing = PACKAGES.filter((name) => !existsSync(join(root, 'packages', name, 'dist/index.js')));
  if (missing.length > 0) {
    throw new Error(
      `the example runs on the built packages; run pnpm build first (no dist: ${missing.join(', ')})`,
    );
  }
});

interface ExampleRun {
  readonly code: number;
  readonly output: string;
}

/** `node run.mjs ARGS` in examples/3ds; resolves with its exit code and its stdout and stderr together. */
function runExample(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<ExampleRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['run.mjs', ...args],
      { cwd: exampleDir, env: { ...process.env, ...env }, timeout: 120_000, maxBuffer: 4 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        resolve({ code, output: `${stdout}${stderr}` });
      },
    );
  });
}

/** Every line the runner reports as a check. */
function checks(output: string) {
  return {
    passed: output.split('\n').filter((line) => line.startsWith('  ✔ ')),
    failed: output.split('\n').filter((line) => line.startsWith('  ✘ ')),
  };
}

const opensslFound = spawnSync('openssl', ['version']).status === 0;
if (!opensslFound && CI)
  throw new Error('[keyswitch] openssl is not on PATH; CI needs it to verify the chain');

interface Transcript {
  readonly dsCaRoot: string;
  readonly areq: { sdkEncData: string; sdkEphemPubKey: Record<string, string>; acctNumber: string };
  readonly ares: { acsSignedContent: string; acsTransID: string };
  readonly creq: string;
  readonly cres: string;
}

/** Checks what the example exchanged with tools that share no code with keyswitch. */
async function verifyIndependently(file: string, deviceDataAlg: string): Promise<void> {
  const transcript = JSON.parse(readFileSync(file, 'utf8')) as Transcript;
  const header = decodeProtectedHeader(transcript.ares.acsSignedContent);
  expect(header.alg).toBe('ES256');
  const x5c = header.x5c ?? [];
  expect(x5c).toHaveLength(2);
  const pem = (der: string) =>
    `-----BEGIN CERTIFICATE-----\n${der.match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE-----\n`;
  const { payload } = await compactVerify(
    transcript.ares.acsSignedContent,
    await importX509(pem(x5c[0]!), 'ES256'),
  );
  const content = JSON.parse(new TextDecoder().decode(payload));
  expect(content.sdkEphemPubKey).toEqual(transcript.areq.sdkEphemPubKey);
  expect(content.acsURL).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/challenge$/);
  expect(decodeProtectedHeader(transcript.areq.sdkEncData)).toMatchObject({
    alg: deviceDataAlg,
    enc: 'A128CBC-HS256',
  });
  for (const message of [transcript.creq, transcript.cres]) {
    expect(decodeProtectedHeader(message)).toEqual({
      alg: 'dir',
      enc: 'A128GCM',
      kid: transcript.ares.acsTransID,
    });
  }
  if (!opensslFound) return;
  const dir = mkdtempSync(join(work, 'openssl-'));
  writeFileSync(join(dir, 'root.pem'), transcript.dsCaRoot);
  writeFileSync(join(dir, 'acs.pem'), pem(x5c[0]!));
  const verified = execFileSync('openssl', ['verify', '-CAfile', 'root.pem', 'acs.pem'], {
    cwd: dir,
    encoding: 'utf8',
  });
  expect(verified.trim()).toBe('acs.pem: OK');
}

describe('examples/3ds', () => {
  it('runs on the software HSM', { timeout: 120_000 }, async () => {
    const transcript = join(work, 'soft-hsm.json');
    const run = await runExample(['configs/soft-hsm.json', '--transcript', transcript]);
    expect(run.output).toMatch(/all 9 checks passed/);
    expect(checks(run.output)).toMatchObject({ failed: [], passed: { length: 9 } });
    expect(run.code).toBe(0);
    expect(run.output).toMatch(/\[ds\] .*device data decrypted in the HSM \(RSA-OAEP-256, A128CBC-HS256\)/);
    await verifyIndependently(transcript, 'RSA-OAEP-256');
  });

  it('runs on kms-local through the AWS SDK', { timeout: 120_000 }, async () => {
    const transcript = join(work, 'kms-local.json');
    const run = await runExample(['configs/kms-local.json', '--kms-local', '--transcript', transcript]);
    expect(checks(run.output)).toMatchObject({ failed: [], passed: { length: 9 } });
    expect(run.code).toBe(0);
    expect(run.output).toMatch(/kms-local served \d+ KMS requests: .*Sign ×\d+, Decrypt ×2/);
    // The AWS SDK's Node-version notice does not reach the example's output: the example silences it.
    expect(run.output).not.toMatch(/NodeVersionSupportWarning/);
    await verifyIndependently(transcript, 'RSA-OAEP-256');
  });

  describe('on SoftHSM2 over PKCS#11', () => {
    const tokens = softHsm2Tokens(join(work, 'tokens'), 'keyswitch 3ds example');
    const env = 'env' in tokens ? tokens.env : {};

    it.skipIf('skip' in tokens)(
      'runs, with RSA-OAEP (SHA-1) for the device data',
      { timeout: 120_000 },
      async () => {
        const transcript = join(work, 'softhsm2.json');
        const run = await runExample(['configs/softhsm2.json', '--transcript', transcript], env);
        expect(checks(run.output)).toMatchObject({ failed: [], passed: { length: 9 } });
        expect(run.code).toBe(0);
        expect(run.output).toMatch(/offers RSAES_OAEP_SHA_256: no/);
        expect(run.output).toMatch(
          /in JWE alg RSA-OAEP-256, which the DS key does not do, is refused by the DS/,
        );
        await verifyIndependently(transcript, 'RSA-OAEP');
      },
    );

    it.skipIf('skip' in tokens)(
      'exits non-zero, answering nothing, when configured for the RSA-OAEP-256 the token lacks',
      { timeout: 120_000 },
      async () => {
        const config = JSON.parse(readFileSync(join(exampleDir, 'configs/softhsm2.json'), 'utf8'));
        config.keys['ds-decrypt'].algorithm = 'RSAES_OAEP_SHA_256';
        const file = join(work, 'softhsm2-oaep256.json');
        writeFileSync(file, JSON.stringify(config));
        const run = await runExample([file], env);
        expect(run.code).toBe(1);
        expect(run.output).toMatch(/UNSUPPORTED_ALGORITHM: ds-decrypt is configured for RSAES_OAEP_SHA_256/);
        expect(checks(run.output).passed).toEqual([]);
        expect(run.output).toMatch(/FAILED/);
      },
    );
  });
});
