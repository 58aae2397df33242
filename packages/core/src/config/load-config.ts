import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { KeyswitchError } from '../errors.js';
import { requireObject } from '../lib/argument-shape.js';
import { joinPath, parseWithSchema } from './parse-with-schema.js';
import { refuseReservedNames } from './reserved-names.js';
import { positionOf, scanJson, type TextPosition } from './scan-json.js';
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
  requireObject(options, 'loadConfig options');
  const cwd = options.cwd ?? process.cwd();
  if (source !== undefined && typeof source !== 'string') {
    refuseReservedNames(source);
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
  const json = text.startsWith('\uFEFF') ? text.slice(1) : text;
  // The platform parser's message quotes the text around a mistake (a PIN pasted without quotes would
  // be printed): the position comes from keyswitch's own tokenizer, and nothing of the text is kept.
  const syntax = scanJson(json);
  if (syntax) {
    const { line, column } = positionOf(json, syntax.offset);
    throw new KeyswitchError(
      'CONFIG_INVALID',
      `configuration file ${named} is not valid JSON at line ${line}, column ${column}: expected ${syntax.expected}`,
      { path: joinPath('', syntax.path) || '(root)' },
    );
  }
  const raw: unknown = JSON.parse(json);
  try {
    refuseReservedNames(raw);
    return { config: parseWithSchema(configSchema, raw, ''), baseDir: dirname(file), source: file };
  } catch (error) {
    const problem = error as KeyswitchError;
    const at = problem.path === undefined ? undefined : locate(json, problem.path);
    throw new KeyswitchError(
      'CONFIG_INVALID',
      `${named}: ${problem.detail}${at ? ` (line ${at.line}, column ${at.column})` : ''}`,
      { path: problem.path },
    );
  }
}

/** The line and column of the value at a JSON path (or of its nearest enclosing value that exists). */
function locate(json: string, path: string): TextPosition | undefined {
  const offsets = new Map<string, number>();
  scanJson(json, (at, offset) => offsets.set(joinPath('', at) || '(root)', offset));
  for (let probe = path; ; ) {
    const offset = offsets.get(probe);
    if (offset !== undefined) return positionOf(json, offset);
    const cut = Math.max(probe.lastIndexOf('.'), probe.lastIndexOf('['));
    if (cut <= 0) return offsets.has('(root)') ? positionOf(json, offsets.get('(root)')!) : undefined;
    probe = probe.slice(0, cut);
  }
}
