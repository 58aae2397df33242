import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { KeyswitchError } from '../errors.js';
import { parseWithSchema } from './parse-with-schema.js';
import { configSchema, type KeyswitchConfig, type KeyswitchConfigInput } from './schema.js';

/** A validated configuration and where it came from. */
export interface LoadedConfig {
  readonly config: KeyswitchConfig;
  /** The directory relative paths in the configuration are resolved against. */
  readonly baseDir: string;
  /** The file it was read from, or `(object)`. */
  readonly source: string;
}

/** Where to look for the configuration. */
export interface LoadConfigOptions {
  /** Environment to read `KEYSWITCH_CONFIG` from (default `process.env`). */
  readonly env?: NodeJS.ProcessEnv;
  /** Working directory for relative paths (default `process.cwd()`). */
  readonly cwd?: string;
}

/** The file name looked for in the working directory when nothing else names one. */
export const DEFAULT_CONFIG_FILE = 'keyswitch.json';

/**
 * Reads and validates a configuration: from an object, from a file path, from the file named by
 * `KEYSWITCH_CONFIG`, or from `keyswitch.json` in the working directory.
 *
 * @throws CONFIG_INVALID naming the file and the JSON path of each problem
 * @example
 * ```ts
 * const { config } = await loadConfig('config/production.json');
 * ```
 */
export async function loadConfig(
  source?: string | KeyswitchConfigInput,
  options: LoadConfigOptions = {},
): Promise<LoadedConfig> {
  const cwd = options.cwd ?? process.cwd();
  if (source !== undefined && typeof source !== 'string') {
    return { config: parseWithSchema(configSchema, source, ''), baseDir: cwd, source: '(object)' };
  }
  const named = source ?? (options.env ?? process.env).KEYSWITCH_CONFIG ?? DEFAULT_CONFIG_FILE;
  const file = resolve(cwd, named);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new KeyswitchError(
      'CONFIG_INVALID',
      code === 'ENOENT'
        ? `configuration file ${named} not found${source === undefined ? ' (set KEYSWITCH_CONFIG or pass a path)' : ''}`
        : `configuration file ${named} cannot be read (${code ?? 'error'})`,
      { cause: error },
    );
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new KeyswitchError(
      'CONFIG_INVALID',
      `configuration file ${named} is not valid JSON: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  try {
    return { config: parseWithSchema(configSchema, raw, ''), baseDir: dirname(file), source: file };
  } catch (error) {
    const problem = error as KeyswitchError;
    throw new KeyswitchError('CONFIG_INVALID', `${named}: ${problem.detail}`, { path: problem.path });
  }
}
