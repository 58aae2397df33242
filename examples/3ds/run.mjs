// Runs the 3-D Secure example end to end: starts the DS and the ACS as two processes on 127.0.0.1, then
// plays the 3DS SDK and 3DS Server against them. The backend is whatever the configuration file names; the
// code is the same for all of them.
//
//   node run.mjs configs/soft-hsm.json                 the software HSM (in memory: nothing to set up)
//   node run.mjs configs/softhsm2.json                 SoftHSM2 over PKCS#11: eval "$(../../scripts/test-tokens.sh)" first
//   node run.mjs configs/kms-local.json --kms-local    AWS KMS protocol, against a kms-local started here
//   node run.mjs CONFIG --transcript FILE              also write the messages exchanged to FILE (JSON)
//
// Each step prints ✔ or ✘; the exit code is 0 only when every check passed and both servers stopped cleanly.
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { runSdk } from './sdk.mjs';

const here = fileURLToPath(new URL('.', import.meta.url));
const args = process.argv.slice(2);
const option = (name) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const configArgument = args.find((arg, index) => !arg.startsWith('--') && args[index - 1] !== '--transcript');
if (!configArgument) {
  console.error('usage: node run.mjs CONFIG [--kms-local] [--transcript FILE]');
  process.exit(2);
}
const config = resolve(configArgument);
const env = { ...process.env };
const children = [];
// Output piped into `head` and closed early is no reason to leave the servers running.
process.stdout.on('error', (error) => {
  if (error.code !== 'EPIPE') throw error;
});
let passed = 0;
let failed = 0;

/** Runs one check: prints ✔ with its detail, or ✘ with the reason, and stops the flow on a failure. */
async function step(label, check) {
  try {
    const { value, detail } = (await check()) ?? {};
    passed++;
    console.log(`  ✔ ${label}${detail ? `: ${detail}` : ''}`);
    return value;
  } catch (error) {
    failed++;
    console.log(`  ✘ ${label}: ${error?.code ? `${error.code}: ` : ''}${error?.message ?? error}`);
    throw Object.assign(new Error(`step failed: ${label}`), { reported: true });
  }
}

/** Starts `node SCRIPT ARGS` and resolves with the URL it prints as "READY <url>"; echoes its output. */
function startServer(name, script, extraArgs) {
  const child = spawn(process.execPath, [resolve(here, script), '--config', config, ...extraArgs], {
    cwd: here,
    env,
    // The IPC channel is only there so that a server stops if this runner dies without stopping it.
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  const exited = new Promise((done) => child.once('exit', (code, signal) => done({ code, signal })));
  children.push({ name, child, exited });
  createInterface({ input: child.stderr }).on('line', (line) => console.log(`    [${name}] ${line}`));
  return new Promise((ready, fail) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      const match = /^READY (\S+)$/.exec(line);
      if (match) ready(match[1]);
      else console.log(`    [${name}] ${line}`);
    });
    exited.then(({ code, signal }) =>
      fail(new Error(`the ${name} exited before it was ready (${signal ?? code})`)),
    );
  });
}

/** Asks each server to stop (SIGTERM to the processes this runner started) and waits; false if one failed. */
async function stopServers() {
  let clean = true;
  for (const { name, child, exited } of children.reverse()) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    const { code, signal } = await exited;
    clearTimeout(timer);
    if (code !== 0) {
      console.log(`  ✘ the ${name} stopped with ${signal ?? `exit code ${code}`}`);
      clean = false;
    }
  }
  return clean;
}

let kmsLocal;
let transcript;
try {
  console.log(`3-D Secure example with ${configArgument}`);
  if (args.includes('--kms-local')) {
    // A KMS-protocol server on a free port: the configuration's aws-kms provider has no endpoint, so the AWS
    // SDK takes it from AWS_ENDPOINT_URL_KMS, as it would for a VPC endpoint.
    const { startKmsLocal } = await import('@keyswitch/kms-local');
    kmsLocal = await startKmsLocal({ port: 0 });
    env.AWS_ENDPOINT_URL_KMS = kmsLocal.endpoint;
    env.KMS_LOCAL_SECRET_ACCESS_KEY ??= kmsLocal.credentials.secretAccessKey;
    // The AWS SDK's notice that its 2027 releases need Node 22 says nothing about this example.
    env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
    console.log(`kms-local listening on ${kmsLocal.endpoint} (AWS_ENDPOINT_URL_KMS)`);
  }
  console.log('DS: provisioning keys, issuing the DS CA root');
  const dsUrl = await startServer('ds', 'ds.mjs', []);
  console.log(`DS listening on ${dsUrl}`);
  console.log('ACS: provisioning its signing key, enrolling with the DS CA');
  const acsUrl = await startServer('acs', 'acs.mjs', ['--ds', dsUrl]);
  console.log(`ACS listening on ${acsUrl}`);
  console.log('3DS SDK and 3DS Server: one app-based transaction');
  transcript = await runSdk(dsUrl, step);
} catch (error) {
  if (!error.reported) {
    failed++;
    console.log(`  ✘ ${error?.code ? `${error.code}: ` : ''}${error?.message ?? error}`);
  }
} finally {
  console.log('stopping the servers');
  if (!(await stopServers())) failed++;
  if (kmsLocal) {
    const { total, byOperation } = kmsLocal.requests();
    const operations = Object.entries(byOperation).map(([operation, count]) => `${operation} ×${count}`);
    console.log(`kms-local served ${total} KMS requests: ${operations.join(', ')}`);
    await kmsLocal.close();
  }
}
const transcriptFile = option('--transcript');
if (transcriptFile && transcript)
  await writeFile(resolve(transcriptFile), `${JSON.stringify(transcript, null, 2)}\n`);
console.log(failed === 0 ? `all ${passed} checks passed` : `${failed} check(s) FAILED, ${passed} passed`);
process.exitCode = failed === 0 ? 0 : 1;
