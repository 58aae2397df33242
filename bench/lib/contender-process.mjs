/**
 * One contender of the PKCS#11 head-to-head in a process of its own (forked by head-to-head.mjs with an
 * IPC channel). The parent sends one request at a time and waits for the answer, so only one contender
 * runs at any moment and the others sit idle:
 *   { type: 'open', contender, sessions }        opens the contender's module, sessions and keys
 *   { type: 'call', operation, input }           one answer (base64), for the parent to check
 *   { type: 'measure', operation, concurrency, durationMs, warmupMs, input }
 *                                                one timed segment: operations, seconds, CPU, event loop
 *   { type: 'idle', durationMs }                 the process's CPU while it waits (cores)
 *   { type: 'create-keys' }                      the keys of the head-to-head, made through keyswitch;
 *                                                answers their public keys (PEM)
 *   { type: 'close' }                            closes the contender and exits
 */
import { measure, stopControl } from './measure.mjs';

/** @type {{ operations: Record<string, (input: Uint8Array) => Promise<Uint8Array>>, close: () => Promise<void> } | undefined} */
let contender;

process.on('message', async (request) => {
  try {
    process.send({ ok: true, value: await handle(request) });
  } catch (error) {
    process.send({
      ok: false,
      error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
    });
  }
  if (request.type === 'close') {
    await stopControl();
    process.disconnect();
  }
});

async function handle(request) {
  switch (request.type) {
    case 'create-keys': {
      const { createKeys } = await import('../contenders/keyswitch.mjs');
      return createKeys({ env: process.env });
    }
    case 'open': {
      const { open } = await import(`../contenders/${request.contender}.mjs`);
      contender = await open({ env: process.env, sessions: request.sessions });
      return {
        name: contender.name,
        version: contender.version ?? null,
        operations: Object.keys(contender.operations),
      };
    }
    case 'call': {
      const answer = await contender.operations[request.operation](Buffer.from(request.input, 'base64'));
      return Buffer.from(answer).toString('base64');
    }
    case 'measure': {
      const input = Buffer.from(request.input, 'base64');
      const operation = contender.operations[request.operation];
      const segment = await measure(() => operation(input), {
        concurrency: request.concurrency,
        durationMs: request.durationMs,
        warmupMs: request.warmupMs,
      });
      return {
        operations: segment.operations,
        errors: segment.errors,
        firstError: segment.firstError ?? null,
        seconds: segment.seconds,
        cpuSeconds: segment.cpu.processSeconds,
        machineSeconds: segment.cpu.machineSeconds ?? null,
        loopMaxMs: segment.loop.maxMs,
        controlMaxMs: segment.loop.controlMaxMs,
        p50Ms: segment.latency.count > 0 ? segment.latency.percentile(50) / 1e6 : null,
        p99Ms: segment.latency.count > 0 ? segment.latency.percentile(99) / 1e6 : null,
      };
    }
    case 'idle': {
      // The process's CPU while it waits, measured the way a segment is (event-loop monitor and control
      // thread running): a cost per second, not per operation, subtracted from each segment's CPU.
      const segment = await measure(() => new Promise((resolve) => setTimeout(resolve, request.durationMs)), {
        concurrency: 1,
        durationMs: request.durationMs,
        maxOperations: 1,
      });
      return { seconds: segment.seconds, cpuSeconds: segment.cpu.processSeconds };
    }
    case 'close': {
      await contender?.close();
      contender = undefined;
      return null;
    }
    default:
      throw new Error(`unknown request ${request.type}`);
  }
}
