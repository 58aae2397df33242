/**
 * One backend's benchmark in a process of its own (started by bench/run.mjs with --expose-gc), so that
 * backends do not share a heap, a libuv pool or a PKCS#11 module. Usage:
 *   node --expose-gc bench/lib/child.mjs BACKEND OPTIONS_JSON RESULT_FILE
 */
import { writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { stopControl } from './measure.mjs';

const [backend, optionsJson, resultFile] = process.argv.slice(2);
if (!backend || !optionsJson || !resultFile) {
  process.stderr.write('usage: node --expose-gc bench/lib/child.mjs BACKEND OPTIONS_JSON RESULT_FILE\n');
  process.exit(2);
}
const options = JSON.parse(optionsJson);
const { run } = await import(`../backends/${backend}.mjs`);
const loadBefore = loadavg();
const started = Date.now();
const result = await run(options);
await stopControl();
await writeFile(
  resultFile,
  JSON.stringify({
    ...result,
    seconds: Math.round((Date.now() - started) / 100) / 10,
    loadAverage: { before: loadBefore.map(round), after: loadavg().map(round) },
  }),
);

function round(value) {
  return Math.round(value * 100) / 100;
}
