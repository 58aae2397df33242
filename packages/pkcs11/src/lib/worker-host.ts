import type { MessagePort } from 'node:worker_threads';
import { KeyswitchError } from '@keyswitch/core';
import { injectFaults } from './fault-layer.js';
import { withLifecycleLock } from './module-lifecycle.js';
import { pkcs11jsMissing } from './pkcs11js-missing.js';
import type { Pkcs11Library } from './shared-module.js';
import {
  errorShape,
  type ReadyMessage,
  type ReplyMessage,
  revive,
  type TaskMessage,
  type WorkerSetup,
} from './worker-protocol.js';
import { initializeModule, runTask } from './worker-tasks.js';

/**
 * A worker thread's side: loads its own pkcs11js instance of the module (PKCS#11 state — initialization,
 * sessions, logins, object handles — belongs to the process, so sessions opened by any worker are valid
 * in all), then answers tasks one at a time.
 *
 * @example
 * ```ts
 * serveTasks(parentPort!, workerData as WorkerSetup);
 * ```
 */
export function serveTasks(port: MessagePort, setup: WorkerSetup): void {
  let library: Pkcs11Library | Error | undefined;
  let ownsInitialization = false;
  const ready = loadLibrary(setup)
    .then(
      (loaded) => {
        library = loaded;
        try {
          // One C_Initialize at a time in the process: modules need not survive two at once.
          ownsInitialization = withLifecycleLock(
            setup.lifecycle,
            () => initializeModule(loaded, setup.module, setup.parameters).ownsInitialization,
          );
        } catch (error) {
          library = error instanceof Error ? error : new Error(String(error));
        }
      },
      (error: unknown) => {
        library = error instanceof Error ? error : new Error(String(error));
      },
    )
    .then(() => port.postMessage({ ready: true, ownsInitialization } satisfies ReadyMessage));
  const answer = (id: number, task: TaskMessage['task']) => {
    const reply = (message: ReplyMessage) => port.postMessage(message);
    if (library instanceof Error) {
      reply({ id, error: errorShape(library) });
      return;
    }
    try {
      const result = runTask(library!, setup, revive(task));
      if (result instanceof Promise) {
        result.then(
          (value) => reply({ id, result: value }),
          (error: unknown) => reply({ id, error: errorShape(error) }),
        );
      } else {
        reply({ id, result });
      }
    } catch (error) {
      reply({ id, error: errorShape(error) });
    }
  };
  port.on('message', (message: TaskMessage) => {
    if (library === undefined) void ready.then(() => answer(message.id, message.task));
    else answer(message.id, message.task);
  });
}

async function loadLibrary(setup: WorkerSetup): Promise<Pkcs11Library> {
  let api: typeof import('pkcs11js');
  try {
    const loaded = (await import('pkcs11js')) as typeof import('pkcs11js') & {
      default?: typeof import('pkcs11js');
    };
    api = loaded.default ?? loaded;
    if (typeof api.PKCS11 !== 'function') throw new Error('pkcs11js has no PKCS11 class');
  } catch (error) {
    throw pkcs11jsMissing(error);
  }
  const library = new api.PKCS11();
  try {
    library.load(setup.module);
  } catch (error) {
    throw new KeyswitchError(
      'CONFIG_INVALID',
      `the PKCS#11 module ${setup.module} failed to load (${firstLine(error)}); check "module" names the vendor's PKCS#11 library`,
      { path: 'module', retryable: false, cause: error },
    );
  }
  if (setup.faults.length > 0) injectFaults(library, setup.faults, setup.faultCounters);
  return library;
}

function firstLine(error: unknown): string {
  return error instanceof Error ? (error.message.split('\n')[0] ?? error.name) : String(error);
}
