/**
 * The PKCS#11 worker thread's entry point: every PKCS#11 call keyswitch makes runs here, never on the
 * application's main thread. Built as its own file next to the package's entry.
 *
 * @example
 * ```ts
 * new Worker(new URL('./pkcs11-worker.js', import.meta.url), { workerData: setup });
 * ```
 * @packageDocumentation
 */
import { parentPort, workerData } from 'node:worker_threads';
import { serveTasks } from './lib/worker-host.js';
import type { WorkerSetup } from './lib/worker-protocol.js';

if (parentPort !== null) serveTasks(parentPort, workerData as WorkerSetup);
