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
 * @example
 * ```ts
 * const passphrase = await resolveSecret({ file: 'secrets/keystore' }, { path: 'providers.dev.passphrase', baseDir });
 * ```
 *
 * @throws CONFIG_INVALID naming the configuration path and the variable or file (never the value) when the
 * variable is unset or empty, or the file cannot be read or is empty
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
      throw new KeyswitchError('CONFIG_INVALID', `environment variable ${reference.env} is not set`, {
        path: where.path,
      });
    }
    return new Secret(value);
  }
  const file = isAbsolute(reference.file)
    ? reference.file
    : resolve(where.baseDir ?? process.cwd(), reference.file);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new KeyswitchError(
      'CONFIG_INVALID',
      `secret file ${reference.file} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
      { path: where.path, cause: error },
    );
  }
  const value = text.replace(/\r?\n$/, '');
  if (value === '') {
    throw new KeyswitchError('CONFIG_INVALID', `secret file ${reference.file} is empty`, {
      path: where.path,
    });
  }
  return new Secret(value);
}
