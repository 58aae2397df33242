import { randomBytes, scrypt } from 'node:crypto';

/** The scrypt parameters a keystore records in its header. */
export interface ScryptParameters {
  readonly N: number;
  readonly r: number;
  readonly p: number;
  readonly salt: Uint8Array;
}

/** Parameters for new keystores: N = 2^17, r = 8, p = 1 (OWASP's minimum: 128 MiB, about 0.3 s), a 16-byte random salt. */
export function newScryptParameters(): ScryptParameters {
  return { N: 2 ** 17, r: 8, p: 1, salt: randomBytes(16) };
}

/** Bounds on parameters read from a file, so that a crafted header cannot demand gigabytes. */
export function scryptParametersAreSane({ N, r, p, salt }: ScryptParameters): boolean {
  return (
    Number.isInteger(N) &&
    N >= 2 ** 10 &&
    N <= 2 ** 20 &&
    (N & (N - 1)) === 0 &&
    Number.isInteger(r) &&
    r >= 1 &&
    r <= 32 &&
    Number.isInteger(p) &&
    p >= 1 &&
    p <= 16 &&
    // Memory is 128·N·r bytes: at most 512 MiB, whatever a crafted header asks for.
    N * r <= 2 ** 22 &&
    salt.length >= 16 &&
    salt.length <= 64
  );
}

/** Derives the 32-byte keystore key from the passphrase, off the event loop. */
export function deriveKeystoreKey(passphrase: string, parameters: ScryptParameters): Promise<Buffer> {
  const { N, r, p, salt } = parameters;
  return new Promise((resolve, reject) => {
    scrypt(
      passphrase.normalize('NFC'),
      salt,
      32,
      { N, r, p, maxmem: 256 * N * r + 16 * 1024 * 1024 },
      (error, key) => (error ? reject(error) : resolve(key)),
    );
  });
}
