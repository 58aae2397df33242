import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { type CliIo, main } from '../src/index.js';

/** What one in-process run of `keyswitch` printed and returned. */
export interface CliRun {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Options of one run: an abort signal (as Ctrl-C), and listeners for output as it is written. */
export interface RunOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  readonly signal?: AbortSignal;
  readonly onStdout?: (text: string) => void;
  readonly onStderr?: (text: string) => void;
  readonly providerFactories?: CliIo['providerFactories'];
  /** What `--in -` reads (default: nothing). */
  readonly stdin?: string | Uint8Array;
}

/** A temporary directory with a keyswitch.json on a software HSM keystore, so keys persist between runs. */
export interface Workspace {
  readonly dir: string;
  readonly config: string;
  readonly env: NodeJS.ProcessEnv;
  /** Runs `keyswitch ARGS...` in-process with `--config` pointing at the workspace's file. */
  run(args: readonly string[], options?: RunOptions): Promise<CliRun>;
  remove(): Promise<void>;
}

export const PASSPHRASE_VARIABLE = 'KEYSWITCH_CLI_TEST_PASSPHRASE';
export const PASSPHRASE = 'cli-test-passphrase-do-not-print';

/** The configuration the tests use: one software HSM provider (`dev`) and a few logical keys. */
export function testConfig(extraKeys: Record<string, unknown> = {}) {
  return {
    environment: 'test',
    providers: {
      dev: { type: 'soft-hsm', keystore: 'dev.keystore', passphrase: { env: PASSPHRASE_VARIABLE } },
      other: { type: 'soft-hsm', keystore: 'other.keystore', passphrase: { env: PASSPHRASE_VARIABLE } },
    },
    keys: {
      'acs-signing': {
        provider: 'dev',
        ref: 'acs-signing',
        spec: 'ECC_NIST_P256',
        algorithm: 'ECDSA_SHA_256',
      },
      'ds-signing': { provider: 'dev', ref: 'ds-signing', spec: 'RSA_2048', algorithm: 'RSASSA_PSS_SHA_256' },
      'pan-kek': { provider: 'dev', ref: 'pan-kek', spec: 'SYMMETRIC_DEFAULT' },
      'pan-hmac': { provider: 'dev', ref: 'pan-hmac', spec: 'HMAC_256' },
      ...extraKeys,
    },
  };
}

/** Makes a workspace in a fresh temporary directory. */
export async function createWorkspace(config: unknown = testConfig()): Promise<Workspace> {
  const dir = await mkdtemp(join(tmpdir(), 'keyswitch-cli-'));
  const file = join(dir, 'keyswitch.json');
  await writeFile(file, JSON.stringify(config, null, 2));
  const env = { PATH: process.env.PATH, [PASSPHRASE_VARIABLE]: PASSPHRASE };
  return {
    dir,
    config: file,
    env,
    run: (args, options = {}) => runCli(['--config', file, ...args], { env, cwd: dir, ...options }),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

/** Runs `keyswitch ARGS...` in-process, capturing its output. */
export async function runCli(args: readonly string[], options: RunOptions = {}): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const exitCode = await main(['node', 'keyswitch', ...args], {
    stdout: {
      write: (text: string) => {
        stdout += text;
        options.onStdout?.(text);
      },
    },
    stderr: {
      write: (text: string) => {
        stderr += text;
        options.onStderr?.(text);
      },
    },
    env: options.env ?? {},
    cwd: options.cwd ?? process.cwd(),
    handleSignals: false,
    stdin: Readable.from([Buffer.from(options.stdin ?? '')]),
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.providerFactories ? { providerFactories: options.providerFactories } : {}),
  });
  return { exitCode, stdout, stderr };
}
