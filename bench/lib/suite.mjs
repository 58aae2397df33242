/**
 * Runs a backend's operations at each concurrency against their raw baselines, and what every backend
 * shares: the list of operations, progress lines, a check that keyswitch and the raw call agree before
 * anything is timed.
 */
import { combine, compare, measure } from './measure.mjs';

/** The operations every backend is measured on, in table order. */
export const OPERATIONS = [
  { id: 'ecdsa-p256-sign', label: 'ECDSA P-256 sign' },
  { id: 'rsa-2048-pss-sign', label: 'RSA-2048 PSS sign' },
  { id: 'rsa-2048-oaep-decrypt', label: 'RSA-2048 OAEP decrypt' },
  { id: 'hmac-sha-256', label: 'HMAC-SHA-256' },
  { id: 'ecdh-p256-derive', label: 'ECDH P-256 derive' },
  { id: 'envelope-encrypt', label: 'envelope encrypt' },
  { id: 'envelope-decrypt', label: 'envelope decrypt' },
  { id: 'envelope-decrypt-format-2-vs-1', label: 'envelope decrypt, format 2 vs 1' },
  { id: 'envelope-encrypt-format-2-vs-1', label: 'envelope encrypt, format 2 vs 1 (by hand)' },
  { id: 'envelope-encrypt-format-2-vs-release', label: 'envelope encrypt, format 2 vs the format 1 release' },
];

/** Sizes of what is signed, MACed and sealed (bytes). */
export const PAYLOAD = {
  /** A JWS signing input of a 3DS message, roughly. */
  sign: 1024,
  /** A PAN, for keyed PAN hashing. */
  mac: 16,
  /** A content-encryption key, as JWE RSA-OAEP wraps. */
  oaep: 32,
  /** A card record. */
  record: 512,
};

/** Writes one progress line on stderr. */
export function log(line) {
  process.stderr.write(`[bench] ${line}\n`);
}

/**
 * Measures every operation at every concurrency.
 *
 * @param {string} backend
 * @param {BenchOperation[]} operations
 * @param {{ concurrencies: number[], durationMs: number, warmupMs: number }} options
 */
export async function runCells(backend, operations, options) {
  const cells = [];
  for (const operation of operations) {
    if (operation.check) await operation.check();
    for (const concurrency of options.concurrencies) {
      const result = await compare(
        { keyswitch: operation.keyswitch, raw: operation.raw },
        { concurrency, durationMs: options.durationMs, warmupMs: options.warmupMs },
      );
      cells.push({
        operation: operation.id,
        label: operation.label,
        algorithm: operation.algorithm,
        ...(operation.note ? { note: operation.note } : {}),
        concurrency,
        rawName: operation.rawName,
        keyswitch: result.keyswitch,
        raw: result.raw,
        ratio: result.ratio,
      });
      log(
        `${backend} ${operation.id} x${concurrency}: keyswitch ${fmt(result.keyswitch.opsPerSecond)}/s, raw ${fmt(result.raw.opsPerSecond)}/s, ratio ${result.ratio.toFixed(2)}, loop max ${result.keyswitch.eventLoop.maxMs} ms` +
          (result.keyswitch.errors + result.raw.errors > 0
            ? `, ERRORS ${result.keyswitch.errors}/${result.raw.errors}: ${result.keyswitch.firstError ?? result.raw.firstError}`
            : ''),
      );
    }
  }
  return cells;
}

/**
 * Measures one implementation alone (the PKCS#11 synchronous loop), in one segment.
 *
 * @param {() => unknown} operation
 * @param {{ concurrency: number, durationMs: number, warmupMs: number }} options
 */
export async function runAlone(operation, options) {
  return combine([await measure(operation, options)]);
}

/**
 * Checks that two implementations give the same answer (or that `verify` accepts both), so no cell ever
 * times an error path or a wrong configuration.
 */
export async function sameAnswer(what, keyswitch, raw, verify) {
  const [a, b] = [await keyswitch(), await raw()];
  const ok = verify ? (await verify(a)) && (await verify(b)) : Buffer.from(a).equals(Buffer.from(b));
  if (!ok) throw new Error(`${what}: keyswitch and the raw baseline disagree; nothing would be measured`);
}

function fmt(value) {
  return Math.round(value).toLocaleString('en-US');
}

/**
 * @typedef {object} BenchOperation
 * @property {string} id
 * @property {string} label
 * @property {string} algorithm
 * @property {string} [note]
 * @property {string} rawName what the raw baseline calls
 * @property {() => unknown} keyswitch
 * @property {() => unknown} raw
 * @property {() => Promise<void>} [check]
 */

/**
 * The envelope encrypt and decrypt cells every backend measures: keyswitch's envelope cipher against
 * AES-256-GCM by hand with the same data key. `sealed` and `rawSealed` are one record sealed by each side.
 * With `legacySealed` (the same record in format 1, under a data key the backend wrapped) and `committed`
 * (format 2 sealing by hand), two more cells time what key commitment costs: keyswitch opening format 2
 * against keyswitch opening format 1, and format 2 sealing against format 1 sealing, both by hand. With
 * `release` (the envelope cipher of the last release that wrote format 1, over the same registry), one
 * more: keyswitch sealing format 2 against that release sealing format 1.
 */
export function envelopeOperations({
  envelopes,
  raw,
  record,
  sealed,
  rawSealed,
  legacySealed,
  committed,
  release,
  context,
  note,
  rawName,
}) {
  const formats =
    legacySealed === undefined
      ? []
      : [
          {
            algorithm: 'SYMMETRIC_DEFAULT',
            note: `${note}; format 2 (key-committing) against format 1`,
            rawName: 'keyswitch opening the same record in format 1',
            keyswitch: () => envelopes.decrypt(sealed, { context }),
            raw: () => envelopes.decrypt(legacySealed, { context }),
            check: async () => {
              const [v2, v1] = [
                await envelopes.decrypt(sealed, { context }),
                await envelopes.decrypt(legacySealed, { context }),
              ];
              if (!Buffer.from(v2).equals(record) || !Buffer.from(v1).equals(record)) {
                throw new Error('format 1 and 2 envelopes do not both open to the record');
              }
            },
          },
          {
            algorithm: 'SYMMETRIC_DEFAULT',
            note: 'format 2 sealing by hand (key schedule once per data key) against format 1 by hand',
            rawName: 'format 1 by hand',
            keyswitch: () => committed.encrypt(record),
            raw: () => raw.encrypt(record),
            check: async () => {
              // Salt and commitment (64 bytes), the count of wrapped keys, a version id and a name length.
              if (committed.encrypt(record).length !== raw.encrypt(record).length + 68) {
                throw new Error(
                  'format 2 by hand is not the 68 bytes longer than format 1 by hand it should be',
                );
              }
            },
          },
        ];
  if (release !== undefined) {
    formats.push({
      algorithm: 'SYMMETRIC_DEFAULT',
      note: `${note}; keyswitch today against the release at ${release.commit}, on the same registry`,
      rawName: `keyswitch at ${release.commit} sealing format 1`,
      keyswitch: () => envelopes.encrypt(record, { context }),
      raw: () => release.envelopes.encrypt(record, { context }),
      check: async () => {
        const [today, then] = [
          await envelopes.encrypt(record, { context }),
          await release.envelopes.encrypt(record, { context }),
        ];
        // Byte 4 is the format: today's writes 2, the release 1, and today's opens both.
        if (today[4] !== 2 || then[4] !== 1) throw new Error('expected format 2 against format 1');
        if (!Buffer.from(await envelopes.decrypt(then, { context })).equals(record)) {
          throw new Error("today's keyswitch does not open the release's format 1 envelope");
        }
      },
    });
  }
  return [
    {
      algorithm: 'SYMMETRIC_DEFAULT',
      note,
      rawName,
      keyswitch: () => envelopes.encrypt(record, { context }),
      raw: () => raw.encrypt(record),
      check: async () => {
        const opened = await envelopes.decrypt(await envelopes.encrypt(record, { context }), { context });
        if (!Buffer.from(opened).equals(record) || !raw.decrypt(raw.encrypt(record)).equals(record)) {
          throw new Error('envelope round trip failed');
        }
      },
    },
    {
      algorithm: 'SYMMETRIC_DEFAULT',
      note,
      rawName,
      keyswitch: () => envelopes.decrypt(sealed, { context }),
      raw: () => raw.decrypt(rawSealed),
    },
    ...formats,
  ];
}

/** Gives each backend's operations their id and payload from OPERATIONS, and the default answer check. */
export function withDefaults(operations) {
  return operations.map((operation, index) => {
    const complete = { ...OPERATIONS[index], ...operation };
    complete.check ??= () => sameAnswer(complete.id, complete.keyswitch, complete.raw);
    return complete;
  });
}
