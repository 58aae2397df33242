import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { AuditBus, type AuditEvent, isKeyswitchError, Secret } from '@keyswitch/core';
import { SoftHsm } from '@keyswitch/soft-hsm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * No result, error message or audit event ever carries the passphrase or key material: every operation
 * is run (successes and failures), everything it produced is collected, and searched.
 */
const PASSPHRASE = 'pass-phrase-SENTINEL-4b1d';
const RAW_AES = Buffer.alloc(32, 0xa7);
const RAW_HMAC = Buffer.from('HMACKEYSENTINELHMACKEYSENTINEL!!', 'ascii');
const EC = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const EC_D = Buffer.from(EC.privateKey.export({ format: 'jwk' }).d!, 'base64url');
const message = new TextEncoder().encode('m');

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'soft-hsm-secrecy-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Every string and byte array reachable from a value (results, errors and their causes, events). */
function haystack(value: unknown, seen = new Set<unknown>()): (string | Uint8Array)[] {
  if (value === null || value === undefined || seen.has(value)) return [];
  if (typeof value === 'string') return [value];
  if (value instanceof Uint8Array) return [value];
  if (typeof value !== 'object') return [String(value)];
  seen.add(value);
  const found: (string | Uint8Array)[] = [inspect(value, { depth: 6 })];
  if (value instanceof Error)
    found.push(value.message, String(value.stack), JSON.stringify(value), ...haystack(value.cause, seen));
  for (const key of Object.keys(value))
    found.push(...haystack((value as Record<string, unknown>)[key], seen));
  return found;
}

function expectClean(things: unknown[]): void {
  const needles = [Buffer.from(PASSPHRASE), RAW_AES, RAW_HMAC, EC_D];
  for (const item of things.flatMap((thing) => haystack(thing))) {
    const bytes =
      typeof item === 'string'
        ? Buffer.from(item)
        : Buffer.from(item.buffer, item.byteOffset, item.byteLength);
    for (const needle of needles)
      expect(
        bytes.includes(needle),
        `leak in ${typeof item === 'string' ? item.slice(0, 200) : 'bytes'}`,
      ).toBe(false);
    if (typeof item === 'string') {
      for (const encoding of ['hex', 'base64', 'base64url'] as const) {
        for (const needle of [RAW_AES, RAW_HMAC, EC_D]) expect(item).not.toContain(needle.toString(encoding));
      }
    }
  }
}

async function outcome(promise: Promise<unknown>): Promise<unknown> {
  try {
    return await promise;
  } catch (error) {
    expect(isKeyswitchError(error), String(error)).toBe(true);
    return error;
  }
}

describe('secrecy', () => {
  it('no result, error or audit event contains the passphrase or key material', async () => {
    const keystore = join(dir, 'secret.keystore');
    const audit = new AuditBus();
    const events: AuditEvent[] = [];
    audit.subscribe((event) => events.push(event));
    const collected: unknown[] = [];
    const run = async (promise: Promise<unknown>) => collected.push(await outcome(promise));

    const hsm = await SoftHsm.open({ keystore, passphrase: new Secret(PASSPHRASE), audit });
    collected.push(hsm, inspect(hsm, { depth: 6, showHidden: true }));
    await run(
      hsm.importKey({ label: 'aes', usage: 'ENCRYPT_DECRYPT', spec: 'SYMMETRIC_DEFAULT', raw: RAW_AES }),
    );
    await run(
      hsm.importKey({ label: 'hmac', usage: 'GENERATE_VERIFY_MAC', spec: 'HMAC_256', raw: RAW_HMAC }),
    );
    await run(
      hsm.importKey({
        label: 'ec',
        usage: 'SIGN_VERIFY',
        pem: EC.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string,
      }),
    );
    await run(
      hsm.importKey({ label: 'aes', usage: 'ENCRYPT_DECRYPT', spec: 'SYMMETRIC_DEFAULT', raw: RAW_AES }),
    ); // taken
    await run(hsm.importKey({ label: 'bad', usage: 'ENCRYPT_DECRYPT', spec: 'HMAC_256', raw: RAW_AES })); // wrong usage
    await run(
      hsm.importKey({
        label: 'pem',
        usage: 'SIGN_VERIFY',
        pem: `${EC.privateKey.export({ format: 'pem', type: 'pkcs8' })}garbage`,
      }),
    );
    for (const ref of ['aes', 'hmac', 'ec', 'missing']) await run(hsm.describeKey(ref));
    await run(hsm.listKeys());
    await run(hsm.getPublicKey('ec'));
    await run(hsm.sign({ ref: 'ec', algorithm: 'ECDSA_SHA_256', message }));
    await run(
      hsm.sign({ ref: 'ec', algorithm: 'ECDSA_SHA_256', message: new Uint8Array(32), messageType: 'DIGEST' }),
    );
    await run(hsm.verify({ ref: 'ec', algorithm: 'ECDSA_SHA_256', message, signature: new Uint8Array(70) }));
    const ciphertext = await hsm.encrypt({ ref: 'aes', algorithm: 'SYMMETRIC_DEFAULT', plaintext: message });
    await run(hsm.decrypt({ ref: 'aes', algorithm: 'SYMMETRIC_DEFAULT', ciphertext }));
    await run(
      hsm.decrypt({ ref: 'aes', algorithm: 'SYMMETRIC_DEFAULT', ciphertext: ciphertext.subarray(3) }),
    );
    await run(hsm.generateMac({ ref: 'hmac', algorithm: 'HMAC_SHA_256', message }));
    await run(hsm.verifyMac({ ref: 'hmac', algorithm: 'HMAC_SHA_256', message, mac: new Uint8Array(32) }));
    await run(hsm.generateDataKey({ ref: 'aes' }));
    await run(hsm.sign({ ref: 'aes', algorithm: 'ECDSA_SHA_256', message }));
    await run(hsm.disableKey('hmac'));
    await run(hsm.generateMac({ ref: 'hmac', algorithm: 'HMAC_SHA_256', message }));
    await run(SoftHsm.open({ keystore, passphrase: PASSPHRASE })); // LOCKED
    await hsm.close();
    await run(SoftHsm.open({ keystore, passphrase: `${PASSPHRASE}x` })); // wrong passphrase
    await run(
      SoftHsm.open({
        keystore: join(dir, 'other', 'x.keystore'),
        passphrase: new Secret(PASSPHRASE),
        environment: 'production',
      }),
    );
    const reader = await SoftHsm.open({ keystore, passphrase: PASSPHRASE, readOnly: true });
    await run(reader.createKey({ spec: 'HMAC_256', usage: 'GENERATE_VERIFY_MAC' }));
    await reader.close();

    expect(events.length).toBeGreaterThan(20);
    expect(collected.some((item) => isKeyswitchError(item))).toBe(true);
    expectClean([...collected, ...events]);
  });
});
