import { readFile, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { CliError } from './cli-error.js';

/**
 * Reads a file named on the command line, or standard input when the name is `-`. A missing or
 * unreadable file is a usage error (exit 2).
 */
export async function readInputFile(
  cwd: string,
  file: string,
  option: string,
  stdin: AsyncIterable<Uint8Array | string> = process.stdin,
): Promise<Uint8Array> {
  if (file === '-') return readAll(stdin);
  try {
    return new Uint8Array(await readFile(resolve(cwd, file)));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new CliError('INVALID_INPUT', `cannot read ${option} file ${file} (${code})`);
  }
}

/** Everything a stream gives until it ends. */
async function readAll(stream: AsyncIterable<Uint8Array | string>): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream)
    chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk));
  return new Uint8Array(Buffer.concat(chunks));
}

/** Writes a file named on the command line. */
export async function writeOutputFile(
  cwd: string,
  file: string,
  data: Uint8Array | string,
  option: string,
): Promise<void> {
  try {
    await writeFile(resolve(cwd, file), data);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new CliError('INVALID_INPUT', `cannot write ${option} file ${file} (${code})`);
  }
}

const BASE64_TEXT = /^[A-Za-z0-9+/_-]+={0,2}$/;

/**
 * A signature file's bytes: base64 (or base64url) text, line breaks allowed, is decoded;
 * anything else is taken as binary.
 */
export function decodeSignatureFile(content: Uint8Array): Uint8Array {
  const text = Buffer.from(content).toString('latin1').replace(/\s+/g, '');
  if (text.length > 0 && BASE64_TEXT.test(text) && text.length % 4 !== 1) {
    return new Uint8Array(
      Buffer.from(text, text.includes('-') || text.includes('_') ? 'base64url' : 'base64'),
    );
  }
  return content;
}
