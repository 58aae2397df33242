import { invalidInput, KeyswitchError } from '@keyswitch/core';
import { type JsonObject, parseJsonObject } from '../lib/json.js';
import {
  type ChallengeDirection,
  type ChallengeEncryption,
  decryptChallengeMessage,
  encryptChallengeMessage,
} from './challenge-message.js';

/**
 * Options for a {@link ChallengeSession}.
 *
 * @example
 * ```ts
 * new ChallengeSession({ sessionKey, role: 'sdk', acsTransID: ares.acsTransID, enc: 'A128GCM' });
 * ```
 */
export interface ChallengeSessionOptions {
  /** The 32-byte session key (the session keeps its own copy and zeroes it on `close()`). */
  readonly sessionKey: Uint8Array;
  /** `acs` decrypts CReqs and encrypts CRes; `sdk` the other way round. */
  readonly role: 'acs' | 'sdk';
  /** The ACS Transaction ID: the `kid` of every message. */
  readonly acsTransID: string;
  /**
   * The content encryption. The SDK chooses it (A128CBC-HS256 by default); an ACS that leaves it out adopts
   * what the first CReq uses and then holds both sides to it.
   */
  readonly enc?: ChallengeEncryption;
  /** Counters to resume from, for an ACS that keeps session state between requests: 0 by default. */
  readonly sendCounter?: number;
  readonly receiveCounter?: number;
}

/**
 * What a session would need to be resumed: never the key, which the caller stores as it sees fit.
 *
 * @example
 * ```ts
 * await store.put(acsTransID, { ...session.state, key: await kek.encrypt(sessionKey) });
 * const resumed = new ChallengeSession({ sessionKey, role: 'acs', ...saved });
 * ```
 */
export interface ChallengeSessionState {
  readonly acsTransID: string;
  readonly enc: ChallengeEncryption | undefined;
  readonly sendCounter: number;
  readonly receiveCounter: number;
}

const COUNTER_FIELD = { 'sdk-to-acs': 'sdkCounterStoA', 'acs-to-sdk': 'acsCounterAtoS' } as const;

/**
 * One side of the CReq/CRes exchange of an EMV 3-D Secure app-based challenge: it holds the session key
 * and both message counters, encrypts each outgoing message with the next counter (writing it into the
 * message as `sdkCounterStoA` or `acsCounterAtoS`, three digits), and decrypts each incoming one only with
 * the IV and counter field it expects. A counter never wraps: after 255 the session refuses to go on.
 *
 * @example
 * ```ts
 * const acs = new ChallengeSession({ sessionKey, role: 'acs', acsTransID });
 * const creq = acs.decrypt(requestBody);           // checks sdkCounterStoA === '000'
 * const body = acs.encrypt({ messageType: 'CRes', acsTransID, transStatus: 'Y' }); // acsCounterAtoS '000'
 * acs.close();
 * ```
 */
export class ChallengeSession {
  readonly #key: Uint8Array;
  readonly #role: 'acs' | 'sdk';
  readonly #acsTransID: string;
  #enc: ChallengeEncryption | undefined;
  #sendCounter: number;
  #receiveCounter: number;
  #closed = false;

  /** @throws INVALID_INPUT for a session key that is not 32 bytes, an unknown role or a bad counter */
  constructor(options: ChallengeSessionOptions) {
    if (!(options.sessionKey instanceof Uint8Array) || options.sessionKey.length !== 32) {
      throw invalidInput('the challenge session key must be 32 bytes');
    }
    if (options.role !== 'acs' && options.role !== 'sdk') throw invalidInput('role must be "acs" or "sdk"');
    if (typeof options.acsTransID !== 'string' || options.acsTransID.length === 0) {
      throw invalidInput('acsTransID must be a non-empty string');
    }
    // A real copy: `slice` on a Buffer would share memory, and close() would zero the caller's key.
    this.#key = Uint8Array.from(options.sessionKey);
    this.#role = options.role;
    this.#acsTransID = options.acsTransID;
    this.#enc = options.enc ?? (options.role === 'sdk' ? 'A128CBC-HS256' : undefined);
    this.#sendCounter = counter(options.sendCounter ?? 0, 'sendCounter');
    this.#receiveCounter = counter(options.receiveCounter ?? 0, 'receiveCounter');
  }

  /** The session's state, to store beside the (protected) session key and resume from. */
  get state(): ChallengeSessionState {
    return {
      acsTransID: this.#acsTransID,
      enc: this.#enc,
      sendCounter: this.#sendCounter,
      receiveCounter: this.#receiveCounter,
    };
  }

  /**
   * Encrypts the next outgoing message (a CReq for the SDK, a CRes for the ACS), setting its counter field.
   *
   * @throws INVALID_INPUT when the message already holds another counter, the ACS has not yet seen a CReq
   * and was given no `enc`, or the counter is exhausted; CLOSED after `close()`
   */
  encrypt(message: JsonObject): string {
    this.#assertOpen();
    const direction = this.#outgoing();
    const field = COUNTER_FIELD[direction];
    const expected = threeDigits(this.#sendCounter);
    if (message[field] !== undefined && message[field] !== expected) {
      throw invalidInput(
        `the message's ${field} is ${JSON.stringify(message[field])}; this session sends ${expected}`,
      );
    }
    if (this.#enc === undefined) {
      throw invalidInput('the ACS answers in the encryption of the CReq: decrypt one first, or pass enc');
    }
    const jwe = encryptChallengeMessage(
      { ...message, [field]: expected },
      {
        sessionKey: this.#key,
        direction,
        counter: this.#sendCounter,
        enc: this.#enc,
        acsTransID: this.#acsTransID,
      },
    );
    this.#sendCounter = next(this.#sendCounter);
    return jwe;
  }

  /**
   * Decrypts the next incoming message and checks its counter field.
   *
   * @throws INVALID_CIPHERTEXT (does not authenticate, or another counter's IV), INVALID_INPUT (malformed,
   * another `kid` or encryption, a missing or wrong counter field), CLOSED after `close()`
   */
  decrypt(jwe: string): JsonObject {
    this.#assertOpen();
    const direction: ChallengeDirection = this.#role === 'acs' ? 'sdk-to-acs' : 'acs-to-sdk';
    const { plaintext, protectedHeader } = decryptChallengeMessage(jwe, {
      sessionKey: this.#key,
      direction,
      counter: this.#receiveCounter,
      acsTransID: this.#acsTransID,
      ...(this.#enc === undefined ? {} : { encryptions: [this.#enc] }),
    });
    try {
      const message = parseJsonObject(plaintext, 'the challenge message');
      const field = COUNTER_FIELD[direction];
      if (message[field] !== threeDigits(this.#receiveCounter)) {
        throw invalidInput(`the challenge message's ${field} is not ${threeDigits(this.#receiveCounter)}`);
      }
      this.#enc ??= protectedHeader.enc as ChallengeEncryption;
      this.#receiveCounter = next(this.#receiveCounter);
      return message;
    } finally {
      plaintext.fill(0);
    }
  }

  /** Zeroes the session key; the session refuses further use. */
  close(): void {
    this.#key.fill(0);
    this.#closed = true;
  }

  #outgoing(): ChallengeDirection {
    return this.#role === 'sdk' ? 'sdk-to-acs' : 'acs-to-sdk';
  }

  #assertOpen(): void {
    if (this.#closed) throw new KeyswitchError('CLOSED', 'this challenge session is closed');
  }
}

function counter(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 0 || value > 256) {
    throw invalidInput(`${name} must be an integer from 0 to 255`);
  }
  return value;
}

function next(value: number): number {
  return value + 1;
}

function threeDigits(value: number): string {
  if (value > 255)
    throw invalidInput('the challenge message counter is exhausted (255 messages); start a new transaction');
  return String(value).padStart(3, '0');
}
