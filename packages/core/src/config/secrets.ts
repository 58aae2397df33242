import { readFile } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { inspect } from 'node:util';
import { KeyswitchError } from '../errors.js';
import { requireObject } from '../lib/argument-shape.js';

/** Where a secret (a PIN, a passphrase) comes from: an environment variable or a file. Never the value itself. */
export type SecretReference = { readonly env: string } | { readonly file: string };

/** Every reference validated by `secretReferenceSchema`, so the registry can find them in a parsed section. */
const validatedReferences = new WeakSet<object>();

/**
 * Marks a value as a validated secret reference (the configuration schema calls this for each one it
 * accepts), so {@link findSecretReferences} can find it in a backend's parsed configuration.
 *
 * @example
 * ```ts
 * z.union([...]).superRefine((reference) => markSecretReference(reference));
 * ```
 */
export function markSecretReference(reference: SecretReference): void {
  validatedReferences.add(reference);
}

/**
 * The secret references in a parsed configuration section, with their JSON paths: what the registry
 * resolves at load so that a missing variable or file is found before any key is used.
 *
 * @example
 * ```ts
 * findSecretReferences({ pin: { env: 'HSM_PIN' } }, 'providers.hsm'); // [{ path: 'providers.hsm.pin', reference: { env: 'HSM_PIN' } }]
 * ```
 */
export function findSecretReferences(
  section: unknown,
  path: string,
): { readonly path: string; readonly reference: SecretReference }[] {
  const found: { path: string; reference: SecretReference }[] = [];
  const seen = new WeakSet<object>();
  const visit = (value: unknown, at: string) => {
    if (typeof value !== 'object' || value === null || seen.has(value)) return;
    seen.add(value);
    if (validatedReferences.has(value)) {
      found.push({ path: at, reference: value as SecretReference });
      return;
    }
    if (Array.isArray(value)) {
      for (const [index, item] of value.entries()) visit(item, `${at}[${index}]`);
    } else if (Object.getPrototypeOf(value) === Object.prototype) {
      for (const [key, item] of Object.entries(value)) visit(item, `${at}.${key}`);
    }
  };
  visit(section, path);
  return found;
}

/**
 * A secret held in memory. It prints as `[secret]` in logs, `JSON.stringify`, `util.inspect` and template
 * strings; only `reveal()` gives the value.
 *
 * @example
 * ```ts
 * const pin = await resolveSecret({ env: 'HSM_PIN' }, { path: 'providers.hsm.pin' });
 * pkcs11.C_Login(session, CKU_USER, pin.reveal());
 * ```
 */
export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  /** The secret's value. Pass it straight to the backend; never log it. */
  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return '[secret]';
  }

  toJSON(): string {
    return '[secret]';
  }

  [inspect.custom](): string {
    return '[secret]';
  }
}

/** Where relative secret files are resolved and which environment is read. */
export interface SecretResolution {
  /** The JSON path of the reference in the configuration, named in errors. */
  readonly path: string;
  /** The environment to read `env` references from (default `process.env`). */
  readonly env?: NodeJS.ProcessEnv;
  /** The directory relative `file` references are resolved against (default the working directory). */
  readonly baseDir?: string;
}

/**
 * Reads a secret from its reference. A file's trailing newline is dropped.
 *
 * An error names the configuration path of the reference always, and the variable or file only when it
 * looks like a name, never like a secret typed in its place (a PIN pasted where its reference goes):
 * - an environment variable when it is in the conventional form `^[A-Z_][A-Z0-9_]*$` (`HSM_PIN`; not
 *   `hsm4Pin9`);
 * - a file when it is made of letters, digits and `.`, `_`, `-`, `/` only, and either starts with `/`,
 *   `./` or `../`, or ends in `.txt`, `.pin`, `.pass`, `.passphrase`, `.password`, `.secret`, `.key`,
 *   `.cred`, `.conf` or `.json` (`/run/secrets/hsm-pin`,
 *   `secrets/keystore.pass`; not `correct-horse-battery`, nor `wJalr/K7MDENG/bPxR`: a bare `/` is not
 *   enough, AWS secret keys hold it).
 *
 * @example
 * ```ts
 * const passphrase = await resolveSecret({ file: 'secrets/keystore.pass' }, { path: 'providers.dev.passphrase', baseDir });
 * ```
 *
 * @throws CONFIG_INVALID naming the configuration path (and the variable or file when it looks like a
 * name; never the value) when the variable is unset or empty, or the file cannot be read or is empty
 */
export async function resolveSecret(reference: SecretReference, where: SecretResolution): Promise<Secret> {
  requireObject(where, 'resolveSecret where');
  const given = requireObject(reference as unknown, 'a secret reference') as Record<string, unknown>;
  if (typeof given['env'] !== 'string' && typeof given['file'] !== 'string') {
    throw new KeyswitchError(
      'CONFIG_INVALID',
      'a secret reference must be { "env": NAME } or { "file": PATH }',
      {
        path: where.path,
      },
    );
  }
  if ('env' in reference) {
    const value = (where.env ?? process.env)[reference.env];
    if (value === undefined || value === '') {
      throw new KeyswitchError(
        'CONFIG_INVALID',
        ENV_NAME.test(reference.env)
          ? `environment variable ${reference.env} is not set`
          : `the environment variable named in "env" is not set; ${HIDDEN} it is not in the form HSM_PIN (upper case, digits, _)`,
        { path: where.path },
      );
    }
    return new Secret(value);
  }
  const relative = !isAbsolute(reference.file);
  const baseDir = where.baseDir ?? process.cwd();
  const file = relative ? resolve(baseDir, reference.file) : reference.file;
  const shown = looksLikeFilePath(reference.file);
  const named = shown ? `secret file ${reference.file}` : 'the secret file named in "file"';
  const why = shown ? '' : `; ${HIDDEN} it does not look like a path`;
  const relativeTo = relative ? ` (relative to ${baseDir})` : '';
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new KeyswitchError(
      'CONFIG_INVALID',
      `${named}${relativeTo} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})${why}`,
      // The platform's error repeats the path: kept as the cause only when the path may be shown.
      { path: where.path, ...(shown ? { cause: error } : {}) },
    );
  }
  // Not a regular expression: V8 keeps the last one's subject reachable (RegExp.input), the secret with it.
  const ending = text.endsWith('\r\n') ? 2 : text.endsWith('\n') ? 1 : 0;
  const value = text.slice(0, text.length - ending);
  if (value === '') {
    throw new KeyswitchError('CONFIG_INVALID', `${named}${relativeTo} is empty${why}`, { path: where.path });
  }
  return new Secret(value);
}

/** Why an error does not show a reference's name. */
const HIDDEN = 'its name is not shown, as it may be a secret typed in the wrong place:';

/** An environment variable name an error may show. */
const ENV_NAME = /^[A-Z_][A-Z0-9_]*$/;

/** The endings that make a secret file's name one an error may show (see {@link resolveSecret}). */
const SECRET_FILE_EXTENSIONS: readonly string[] = [
  '.txt',
  '.pin',
  '.pass',
  '.passphrase',
  '.password',
  '.secret',
  '.key',
  '.cred',
  '.conf',
  '.json',
];

function looksLikeFilePath(file: string): boolean {
  if (!/^[A-Za-z0-9._/-]+$/.test(file)) return false;
  if (file.startsWith('/') || file.startsWith('./') || file.startsWith('../')) return true;
  const lower = file.toLowerCase();
  return SECRET_FILE_EXTENSIONS.some((extension) => lower.endsWith(extension));
}
