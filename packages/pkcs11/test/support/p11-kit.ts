import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { TestTokens } from './tokens.js';

/**
 * `p11-kit server` serving the test SoftHSM2 token over a Unix socket: a remote token, as a network HSM's
 * client library sees one. The server runs in a process group of its own (it starts a `p11-kit remote`
 * child per connection), so killing or stopping the group cuts every client's link, as a network HSM
 * going away would.
 */
export interface P11KitServer {
  /** P11_KIT_SERVER_ADDRESS for clients (also set in this process's environment). */
  readonly address: string;
  /** Starts the server (again). */
  start(): Promise<void>;
  /** SIGKILL to the whole server: every connection breaks. */
  kill(): Promise<void>;
  /** SIGSTOP: every call hangs until {@link P11KitServer.resume}. */
  pause(): void;
  /** SIGCONT after {@link P11KitServer.pause}. */
  resume(): void;
  /** Stops the server for good. */
  close(): Promise<void>;
}

/**
 * A p11-kit server for the test tokens' SoftHSM2 token. Sets P11_KIT_SERVER_ADDRESS in this process, so
 * that p11-kit-client.so (KEYSWITCH_P11KIT_CLIENT_MODULE) reaches it; the worker threads inherit it.
 */
export function p11KitServer(tokens: TestTokens): P11KitServer {
  const socket = join(tokens.dir, 'p11-kit.sock');
  const address = `unix:path=${socket}`;
  process.env.P11_KIT_SERVER_ADDRESS = address;
  let child: ChildProcess | undefined;
  const signal = (name: NodeJS.Signals) => {
    if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(-child.pid, name);
      } catch {
        // already gone
      }
    }
  };
  const stopped = async () => {
    const running = child;
    if (running === undefined || running.exitCode !== null || running.signalCode !== null) return;
    await new Promise<void>((resolve) => running.once('exit', () => resolve()));
  };
  return {
    address,
    async start() {
      rmSync(socket, { force: true });
      const started = spawn(
        'p11-kit',
        [
          'server',
          '-f',
          '--provider',
          tokens.env.KEYSWITCH_SOFTHSM2_MODULE!,
          '-n',
          socket,
          `pkcs11:token=${tokens.env.KEYSWITCH_SOFTHSM2_TOKEN}`,
        ],
        { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...tokens.env } },
      );
      child = started;
      let stderr = '';
      started.stderr?.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      await new Promise<void>((resolve, reject) => {
        started.once('error', reject);
        started.once('exit', (code) =>
          reject(new Error(`p11-kit server exited (${code}): ${stderr.trim()}`)),
        );
        started.stdout?.once('data', () => resolve());
      });
      if (!existsSync(socket)) throw new Error(`p11-kit server did not create ${socket}`);
    },
    async kill() {
      signal('SIGKILL');
      await stopped();
    },
    pause() {
      signal('SIGSTOP');
    },
    resume() {
      signal('SIGCONT');
    },
    async close() {
      signal('SIGCONT');
      signal('SIGKILL');
      await stopped();
      rmSync(socket, { force: true });
    },
  };
}
