import { KmsException, validation } from './kms-exception.js';

/** A parsed JSON request body. */
export type RequestBody = Readonly<Record<string, unknown>>;

/** Reads the typed fields of a KMS JSON 1.1 request, answering `ValidationException` as KMS words it. */
export class RequestFields {
  readonly #body: RequestBody;

  constructor(body: RequestBody) {
    this.#body = body;
  }

  has(name: string): boolean {
    return this.#body[name] !== undefined && this.#body[name] !== null;
  }

  string(name: string, options: { required: true; min?: number; max?: number }): string;
  string(name: string, options?: { required?: boolean; min?: number; max?: number }): string | undefined;
  string(name: string, options: { required?: boolean; min?: number; max?: number } = {}): string | undefined {
    const value = this.#body[name];
    if (value === undefined || value === null) {
      if (options.required) throw missing(name);
      return undefined;
    }
    if (typeof value !== 'string')
      throw validation(`1 validation error detected: Value at '${camel(name)}' must be a string`);
    lengthCheck(name, value.length, options.min ?? (options.required ? 1 : 0), options.max);
    return value;
  }

  /** A string field that must be one of `allowed`. */
  enumeration<T extends string>(name: string, allowed: readonly T[], options: { required: true }): T;
  enumeration<T extends string>(
    name: string,
    allowed: readonly T[],
    options?: { required?: boolean },
  ): T | undefined;
  enumeration<T extends string>(
    name: string,
    allowed: readonly T[],
    options: { required?: boolean } = {},
  ): T | undefined {
    const value = this.string(name, options);
    if (value === undefined) return undefined;
    if (!(allowed as readonly string[]).includes(value)) {
      throw validation(
        `1 validation error detected: Value '${value}' at '${camel(name)}' failed to satisfy constraint: Member must satisfy enum value set: [${allowed.join(', ')}]`,
      );
    }
    return value as T;
  }

  integer(name: string, options: { required?: boolean; min: number; max: number }): number | undefined {
    const value = this.#body[name];
    if (value === undefined || value === null) {
      if (options.required) throw missing(name);
      return undefined;
    }
    if (typeof value !== 'number' || !Number.isInteger(value)) {
      throw validation(`1 validation error detected: Value at '${camel(name)}' must be an integer`);
    }
    if (value < options.min || value > options.max) {
      throw validation(
        `1 validation error detected: Value '${value}' at '${camel(name)}' failed to satisfy constraint: Member must have value between ${options.min} and ${options.max}`,
      );
    }
    return value;
  }

  /** A number (a timestamp in epoch seconds). */
  number(name: string): number | undefined {
    const value = this.#body[name];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw validation(`1 validation error detected: Value at '${camel(name)}' must be a number`);
    }
    return value;
  }

  boolean(name: string): boolean | undefined {
    const value = this.#body[name];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'boolean')
      throw validation(`1 validation error detected: Value at '${camel(name)}' must be a boolean`);
    return value;
  }

  /** A blob: base64 in the JSON, bytes here. */
  blob(name: string, options: { required: true; max: number }): Uint8Array;
  blob(name: string, options: { required?: boolean; max: number }): Uint8Array | undefined;
  blob(name: string, options: { required?: boolean; max: number }): Uint8Array | undefined {
    const value = this.#body[name];
    if (value === undefined || value === null) {
      if (options.required) throw missing(name);
      return undefined;
    }
    if (typeof value !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(value) || value.length % 4 !== 0) {
      throw new KmsException('SerializationException', `${name} must be base64`);
    }
    const bytes = new Uint8Array(Buffer.from(value, 'base64'));
    lengthCheck(name, bytes.byteLength, 1, options.max);
    return bytes;
  }

  /** An encryption context: an object of string values. */
  context(name: string): Record<string, string> | undefined {
    const value = this.#body[name];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'object' || Array.isArray(value)) {
      throw validation(`1 validation error detected: Value at '${camel(name)}' must be a map of strings`);
    }
    for (const entry of Object.values(value)) {
      if (typeof entry !== 'string') {
        throw validation(`1 validation error detected: Value at '${camel(name)}' must be a map of strings`);
      }
    }
    return value as Record<string, string>;
  }

  /** A list of `{ TagKey, TagValue }`. */
  tags(name: string): { key: string; value: string }[] {
    const value = this.#body[name];
    if (value === undefined || value === null) return [];
    if (!Array.isArray(value))
      throw validation(`1 validation error detected: Value at '${camel(name)}' must be a list`);
    return value.map((tag: unknown) => {
      const entry = new RequestFields((tag ?? {}) as RequestBody);
      return {
        key: entry.string('TagKey', { required: true, max: 128 }),
        value: entry.string('TagValue', { required: true, min: 0, max: 256 }),
      };
    });
  }

  /** A list of strings. */
  strings(name: string): string[] {
    const value = this.#body[name];
    if (value === undefined || value === null) return [];
    if (!Array.isArray(value) || value.some((entry) => typeof entry !== 'string')) {
      throw validation(`1 validation error detected: Value at '${camel(name)}' must be a list of strings`);
    }
    return value as string[];
  }
}

function missing(name: string) {
  return validation(
    `1 validation error detected: Value null at '${camel(name)}' failed to satisfy constraint: Member must not be null`,
  );
}

function lengthCheck(name: string, length: number, min: number, max: number | undefined): void {
  if (length < min) {
    throw validation(
      `1 validation error detected: Value at '${camel(name)}' failed to satisfy constraint: Member must have length greater than or equal to ${min}`,
    );
  }
  if (max !== undefined && length > max) {
    throw validation(
      `1 validation error detected: Value at '${camel(name)}' failed to satisfy constraint: Member must have length less than or equal to ${max}`,
    );
  }
}

function camel(name: string): string {
  return name.charAt(0).toLowerCase() + name.slice(1);
}
