/**
 * The PKCS#11 head-to-head: keyswitch against raw pkcs11js, graphene-pk11 and node-webcrypto-p11 on one
 * SoftHSM2 token, each contender in a process of its own, as a user compares them. For each number of
 * calls in flight N, every contender is started with N sessions (one per call in flight); then each cell
 * runs the contenders in turn, one segment at a time, in an order that rotates every round, so a machine
 * whose speed changes during the cell biases none of them. Only one contender runs at any moment; the
 * others wait on their IPC channel.
 *
 * Each segment reports, from inside the contender's process: operations, seconds, the process's CPU time
 * (`process.cpuUsage`, every thread: the libuv pool doing the token's work included), the event loop's
 * worst delay and the idle control thread's.
 */
import { fork, spawnSync } from 'node:child_process';
import {
  constants,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  publicEncrypt,
  randomBytes,
  verify,
} from 'node:crypto';
import { join } from 'node:path';
import { OPERATIONS } from '../contenders/common.mjs';
import { round, SEGMENT_MS } from './measure.mjs';
import { log, PAYLOAD } from './suite.mjs';
import { ROOT } from './workspace.mjs';

/**
 * The contenders, in table order; `keyswitch` first, the reference (`raw-pkcs11js`) second. graphene-pk11
 * and node-webcrypto-p11 are measured on the signatures (the anchors of the issue), keyswitch and raw
 * pkcs11js on every operation.
 */
export const CONTENDERS = [
  { id: 'keyswitch', label: 'keyswitch' },
  { id: 'raw-pkcs11js', label: 'raw pkcs11js (async calls)' },
  { id: 'graphene-pk11', label: 'graphene-pk11' },
  { id: 'node-webcrypto-p11', label: 'node-webcrypto-p11 (a Crypto per call in flight)' },
];

const PROCESS = join(ROOT, 'bench', 'lib', 'contender-process.mjs');

/**
 * Runs the head-to-head on the token described by `env` (SOFTHSM2_CONF, KEYSWITCH_SOFTHSM2_*).
 *
 * @param {{ env: Record<string, string>, concurrencies: number[], durationMs: number, warmupMs: number }} options
 */
export async function runHeadToHead({ env, concurrencies, durationMs, warmupMs }) {
  const setup = await Contender.start(env);
  const publicKeys = await setup.ask({ type: 'create-keys' });
  await setup.close();
  const inputs = makeInputs(publicKeys);
  const cells = [];
  const versions = {};
  const unavailable = {};
  for (const concurrency of concurrencies) {
    const running = [];
    try {
      for (const { id } of CONTENDERS) {
        const contender = await Contender.start(env);
        try {
          const opened = await contender.ask({ type: 'open', contender: id, sessions: concurrency });
          if (opened.version) versions[id] = opened.version;
          const operations = opened.operations.filter((operation) => operation in inputs);
          for (const operation of operations) {
            const answer = await contender.ask({ type: 'call', operation, input: inputs[operation].base64 });
            if (!inputs[operation].check(Buffer.from(answer, 'base64'))) {
              throw new Error(`${operation}: a wrong answer (checked with node:crypto)`);
            }
          }
          // A fresh process compiles its hot path during its first few thousand calls: warm every
          // operation up before any cell is timed, the same for every contender.
          for (const operation of operations) {
            await contender.ask({
              type: 'measure',
              operation,
              concurrency,
              durationMs: 1,
              warmupMs: warmupMs * 4,
              input: inputs[operation].base64,
            });
          }
          const idle = await contender.ask({ type: 'idle', durationMs: Math.max(250, warmupMs * 2) });
          running.push({ id, contender, operations, idleCores: idle.cpuSeconds / idle.seconds });
        } catch (error) {
          // A contender that cannot run is reported as such, never left out silently.
          unavailable[id] = error instanceof Error ? error.message : String(error);
          log(`head-to-head: ${id} cannot run: ${unavailable[id]}`);
          await contender.close().catch(() => undefined);
        }
      }
      for (const operation of Object.keys(OPERATIONS)) {
        const contenders = running.filter((entry) => entry.operations.includes(operation));
        if (contenders.length === 0) continue;
        cells.push(
          await runCell(contenders, operation, concurrency, inputs[operation].base64, { durationMs }),
        );
      }
    } finally {
      for (const { contender } of running) await contender.close().catch(() => undefined);
    }
  }
  return { cells, versions, unavailable };
}

/** One operation at one concurrency: every contender, in rotating order, segment by segment. */
async function runCell(running, operation, concurrency, input, { durationMs }) {
  const rounds = Math.max(1, Math.round(durationMs / SEGMENT_MS));
  const segmentMs = durationMs / rounds;
  const segments = Object.fromEntries(running.map(({ id }) => [id, []]));
  const request = { type: 'measure', operation, concurrency, input };
  for (let index = 0; index < rounds; index += 1) {
    const order = rotate(running, index);
    for (const { id, contender } of index % 2 === 0 ? order : order.reverse()) {
      segments[id].push(await contender.ask({ ...request, durationMs: segmentMs, warmupMs: 0 }));
    }
  }
  const idleCores = Object.fromEntries(running.map(({ id, idleCores: cores }) => [id, cores]));
  const results = Object.fromEntries(
    Object.entries(segments).map(([id, list]) => [id, summarise(list, idleCores[id])]),
  );
  const cell = {
    operation,
    label: OPERATIONS[operation].label,
    algorithm: OPERATIONS[operation].algorithm ?? 'ECDH',
    ...(OPERATIONS[operation].note ? { note: OPERATIONS[operation].note } : {}),
    concurrency,
    results,
  };
  const ks = results.keyswitch;
  const raw = results['raw-pkcs11js'];
  log(
    `head-to-head ${operation} ×${concurrency}: ${Object.entries(results)
      .map(([id, result]) => `${id} ${Math.round(result.opsPerSecond)}/s ${result.cpuMicrosPerOperation} µs`)
      .join(', ')}` +
      (ks && raw
        ? `; keyswitch/raw ${(ks.opsPerSecond / raw.opsPerSecond).toFixed(2)}, +${round(ks.cpuMicrosPerOperation - raw.cpuMicrosPerOperation, 1)} µs CPU`
        : ''),
  );
  return cell;
}

/**
 * Each operation's input and the check of a contender's answer, against node:crypto: signatures verified
 * with the public key, the OAEP plaintext compared with what was encrypted, the ECDH secret compared with
 * node:crypto's from the peer's private key. HMAC keys never leave the token: every contender's MAC must
 * equal the first one checked (keyswitch's), so a contender that disagrees with keyswitch is refused.
 */
function makeInputs(publicKeys) {
  const message = randomBytes(PAYLOAD.sign);
  const cek = randomBytes(PAYLOAD.oaep);
  const oaepCiphertext = publicEncrypt(
    {
      key: createPublicKey(publicKeys['rsa-2048-oaep-decrypt']),
      padding: constants.RSA_PKCS1_OAEP_PADDING,
      oaepHash: 'sha1',
    },
    cek,
  );
  const pan = Buffer.from('4111111111111111');
  const peer = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const peerSpki = peer.publicKey.export({ format: 'der', type: 'spki' });
  const sharedSecret = diffieHellman({
    privateKey: createPrivateKey(peer.privateKey.export({ format: 'pem', type: 'pkcs8' })),
    publicKey: createPublicKey(publicKeys['ecdh-p256-derive']),
  });
  let firstMac;
  return {
    'ecdsa-p256-sign': {
      base64: message.toString('base64'),
      check: (signature) =>
        signature.length === 64 &&
        verify(
          'sha256',
          message,
          { key: createPublicKey(publicKeys['ecdsa-p256-sign']), dsaEncoding: 'ieee-p1363' },
          signature,
        ),
    },
    'rsa-2048-pss-sign': {
      base64: message.toString('base64'),
      check: (signature) =>
        verify(
          'sha256',
          message,
          {
            key: createPublicKey(publicKeys['rsa-2048-pss-sign']),
            padding: constants.RSA_PKCS1_PSS_PADDING,
            saltLength: 32,
          },
          signature,
        ),
    },
    'rsa-2048-oaep-decrypt': {
      base64: oaepCiphertext.toString('base64'),
      check: (plaintext) => plaintext.equals(cek),
    },
    'hmac-sha-256': {
      base64: pan.toString('base64'),
      check: (mac) => {
        firstMac ??= mac;
        return mac.length === 32 && mac.equals(firstMac);
      },
    },
    'ecdh-p256-derive': {
      base64: peerSpki.toString('base64'),
      check: (secret) => secret.equals(sharedSecret),
    },
  };
}

/**
 * Totals of one contender's segments in one cell. CPU per operation leaves out what the process spends
 * while idle (`idleCores`: the event-loop monitor, the control thread, anything the library does on its
 * own), which is a cost per second: left in, it would weigh most on the slowest contender.
 */
function summarise(segments, idleCores) {
  const operations = segments.reduce((sum, segment) => sum + segment.operations, 0);
  const seconds = segments.reduce((sum, segment) => sum + segment.seconds, 0);
  const cpuSeconds = segments.reduce((sum, segment) => sum + segment.cpuSeconds, 0);
  const busySeconds = Math.max(0, cpuSeconds - idleCores * seconds);
  const machine = segments.every((segment) => segment.machineSeconds !== null)
    ? segments.reduce((sum, segment) => sum + segment.machineSeconds, 0)
    : undefined;
  const errors = segments.reduce((sum, segment) => sum + segment.errors, 0);
  const p50s = segments.map((segment) => segment.p50Ms).filter((value) => value !== null);
  return {
    operations,
    seconds: round(seconds, 3),
    opsPerSecond: round(operations / seconds, 1),
    cpuMicrosPerOperation: operations > 0 ? round((busySeconds * 1e6) / operations, 1) : null,
    processCores: round(cpuSeconds / seconds, 2),
    idleCores: round(idleCores, 3),
    ...(machine === undefined ? {} : { otherCores: round(Math.max(0, (machine - cpuSeconds) / seconds), 2) }),
    // The median of the segments' medians, and the worst segment's p99.
    p50Ms: p50s.length > 0 ? round(p50s.sort((a, b) => a - b)[Math.floor(p50s.length / 2)], 3) : null,
    p99Ms: round(Math.max(0, ...segments.map((segment) => segment.p99Ms ?? 0)), 3),
    loopMaxMs: round(Math.max(...segments.map((segment) => segment.loopMaxMs)), 2),
    controlMaxMs: round(Math.max(...segments.map((segment) => segment.controlMaxMs)), 2),
    errors,
    ...(errors > 0 ? { firstError: segments.find((segment) => segment.firstError)?.firstError } : {}),
  };
}

function rotate(list, by) {
  const shift = by % list.length;
  return [...list.slice(shift), ...list.slice(0, shift)];
}

/** A contender's process and its request/answer channel. */
class Contender {
  /** @param {Record<string, string>} env */
  static async start(env) {
    const child = fork(PROCESS, [], {
      cwd: join(ROOT, 'bench'),
      env,
      execArgv: ['--expose-gc'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    await new Promise((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', reject);
    });
    return new Contender(child);
  }

  constructor(child) {
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', resolve));
  }

  /** Sends one request and waits for its answer (or the process's death). */
  ask(request) {
    return new Promise((resolve, reject) => {
      const onExit = (code, signal) =>
        reject(new Error(`the contender's process exited (${code ?? signal}) during ${request.type}`));
      this.child.once('exit', onExit);
      this.child.once('message', (answer) => {
        this.child.off('exit', onExit);
        if (answer.ok) resolve(answer.value);
        else reject(new Error(answer.error));
      });
      this.child.send(request);
    });
  }

  /** Closes the contender and waits for its process to exit (killing it if it does not within 10 s). */
  async close() {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      await Promise.race([this.ask({ type: 'close' }), this.exited]).catch(() => undefined);
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
      await this.exited;
      clearTimeout(timer);
    }
  }
}

/** The start-up measurements, each in a fresh process; every mode runs `repeat` times, interleaved. */
export const STARTUP_MODES = [
  { id: 'import-core', label: "import('@keyswitch/core') alone" },
  { id: 'keyswitch', label: 'keyswitch: fromConfig + first ECDSA signature (P1363)' },
  { id: 'raw-pkcs11js', label: 'raw pkcs11js: load, C_Initialize, session, login, find, first C_SignAsync' },
];

/**
 * Measures start-up: each mode of startup-process.mjs in a fresh node process, `repeat` times, in
 * interleaved order. Reports the median and the best of each figure.
 *
 * @param {{ env: Record<string, string>, repeat: number }} options
 */
export function runStartup({ env, repeat }) {
  const runs = Object.fromEntries(STARTUP_MODES.map(({ id }) => [id, []]));
  for (let index = 0; index < repeat; index += 1) {
    for (const { id } of STARTUP_MODES) {
      const child = spawnSync(process.execPath, [join(ROOT, 'bench', 'lib', 'startup-process.mjs'), id], {
        cwd: join(ROOT, 'bench'),
        env,
        encoding: 'utf8',
      });
      if (child.status !== 0) {
        const reason = child.stderr.split('\n').find((line) => /Error/.test(line)) ?? child.stderr.trim();
        throw new Error(`start-up ${id} failed (exit ${child.status}): ${reason}`);
      }
      runs[id].push(JSON.parse(child.stdout.trim().split('\n').at(-1)));
    }
  }
  const figures = {};
  for (const [id, list] of Object.entries(runs)) {
    figures[id] = {};
    for (const key of Object.keys(list[0]).filter((name) => name !== 'mode')) {
      const values = list.map((entry) => entry[key]).sort((a, b) => a - b);
      figures[id][key] = { median: values[Math.floor(values.length / 2)], best: values[0] };
    }
  }
  log(
    `start-up (median of ${repeat}): import core ${figures['import-core'].importMs.median} ms; keyswitch fromConfig + first sign ${figures.keyswitch.fromConfigAndFirstSignMs.median} ms, process start → first signature ${figures.keyswitch.firstSignatureMs.median} ms; raw pkcs11js ${figures['raw-pkcs11js'].fromConfigAndFirstSignMs.median} ms, ${figures['raw-pkcs11js'].firstSignatureMs.median} ms`,
  );
  return { repeat, figures };
}

/**
 * The event loop on NSS softokn (moved here from a unit test: no test asserts a duration), each side in a
 * fresh process: keyswitch's NSS profile, then pkcs11js with C_SignInit on the main thread, 48 RSA-2048
 * PSS signatures in flight for three rounds. Run twice each, interleaved; reports every run.
 *
 * @param {{ env: Record<string, string> }} options
 */
export function runNssEventLoop({ env }) {
  const runs = [];
  for (let index = -1; index < 2; index += 1) {
    for (const mode of index < 0 ? ['create-key'] : ['keyswitch', 'raw']) {
      const child = spawnSync(process.execPath, [join(ROOT, 'bench', 'lib', 'nss-process.mjs'), mode], {
        cwd: join(ROOT, 'bench'),
        env,
        encoding: 'utf8',
      });
      if (child.status !== 0) {
        const reason = child.stderr.split('\n').find((line) => /Error/.test(line)) ?? child.stderr.trim();
        throw new Error(`NSS ${mode} failed (exit ${child.status}): ${reason}`);
      }
      if (index >= 0) runs.push(JSON.parse(child.stdout.trim().split('\n').at(-1)));
    }
  }
  const worst = (mode) => Math.max(...runs.filter((run) => run.mode === mode).map((run) => run.loopMaxMs));
  log(
    `NSS event loop, 48 RSA-2048 PSS in flight: keyswitch max ${worst('keyswitch')} ms, raw ${worst('raw')} ms`,
  );
  return { inFlight: 48, runs, keyswitchMaxMs: worst('keyswitch'), rawMaxMs: worst('raw') };
}
