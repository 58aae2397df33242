import { Keyswitch } from '@keyswitch/core';
import type { CliIo } from './io.js';

/** What every command gets: the io, and the global options. */
export interface CommandContext {
  readonly io: CliIo;
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  /** The `--config` option, if given; otherwise `KEYSWITCH_CONFIG` or `./keyswitch.json`. */
  readonly configPath: () => string | undefined;
  /** The exit code the command ends with; commands set it instead of exiting. */
  exitCode: number;
}

/**
 * Loads the configuration (`--config`, else `KEYSWITCH_CONFIG`, else `./keyswitch.json`) into a registry.
 *
 * @throws CONFIG_INVALID naming the JSON path of the problem
 */
export function openKeyswitch(
  context: CommandContext,
  path: string | undefined = context.configPath(),
): Promise<Keyswitch> {
  const { providerFactories } = context.io;
  return Keyswitch.fromConfig(path, {
    env: context.env,
    cwd: context.cwd,
    ...(providerFactories ? { providerFactories } : {}),
  });
}

/** Runs `body` with a registry and closes it afterwards, whatever happens. */
export async function withKeyswitch<T>(
  context: CommandContext,
  body: (keyswitch: Keyswitch) => Promise<T>,
  path?: string,
): Promise<T> {
  const keyswitch = await openKeyswitch(context, path);
  try {
    return await body(keyswitch);
  } finally {
    await keyswitch.close().catch(() => undefined);
  }
}
