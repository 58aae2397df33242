import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isKeyswitchError, type KeyswitchError } from '@keyswitch/core';
import { KMS_LOCAL_DEFAULT_CREDENTIALS, type KmsLocalServer, startKmsLocal } from '@keyswitch/kms-local';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AwsKmsProvider, type AwsKmsProviderOptions } from '../src/index.js';

let server: KmsLocalServer;
const opened: AwsKmsProvider[] = [];

async function open(
  options: AwsKmsProviderOptions = {},
  target: KmsLocalServer = server,
): Promise<AwsKmsProvider> {
  const provider = await AwsKmsProvider.open({
    endpoint: target.endpoint,
    region: target.region,
    credentials: { ...KMS_LOCAL_DEFAULT_CREDENTIALS },
    ...options,
  });
  opened.push(provider);
  return provider;
}

async function failure(promise: Promise<unknown>): Promise<KeyswitchError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (!isKeyswitchError(error)) throw new Error(`expected a KeyswitchError, got ${String(error)}`);
  return error;
}

beforeAll(async () => {
  server = await startKmsLocal();
});

afterAll(async () => {
  await Promise.all(opened.map((provider) => provider.close()));
  await server.close();
});

describe('throttling', () => {
  it('operations succeed through the SDK retries while a share of requests is throttled', async () => {
    const kms = await open({ maxAttempts: 6, retryMode: 'standard' });
    server.setFaults({ throttleRate: 0.3, seed: 1, operations: ['GenerateRandom'] });
    try {
      server.resetRequestCounts();
      for (let index = 0; index < 6; index += 1) expect(await kms.generateRandom(16)).toHaveLength(16);
      expect(server.requests().byOperation.GenerateRandom).toBe(8);
    } finally {
      server.setFaults(undefined);
    }
  });

  it('THROTTLED, retryable, once the retries are exhausted', async () => {
    const kms = await open({ maxAttempts: 2 });
    server.setFaults({ throttleRate: 1, operations: ['GenerateRandom'] });
    try {
      server.resetRequestCounts();
      const error = await failure(kms.generateRandom(16));
      expect({ code: error.code, retryable: error.retryable }).toEqual({
        code: 'THROTTLED',
        retryable: true,
      });
      expect((error.cause as Error).name).toBe('ThrottlingException');
      expect(server.requests().byOperation.GenerateRandom).toBe(2);
    } finally {
      server.setFaults(undefined);
    }
  });
});

describe('outages', () => {
  it('a stopped server gives UNAVAILABLE, retryable, within the timeouts and never a hang', async () => {
    const doomed = await startKmsLocal();
    const kms = await open({ maxAttempts: 2, connectionTimeoutMs: 500, requestTimeoutMs: 1000 }, doomed);
    expect(await kms.generateRandom(8)).toHaveLength(8);
    await doomed.close();
    const error = await failure(kms.generateRandom(8));
    expect({ code: error.code, retryable: error.retryable }).toEqual({
      code: 'UNAVAILABLE',
      retryable: true,
    });
    // A kept-alive connection the server dropped is reset; a new one is refused.
    expect(error.message).toMatch(/the connection was refused|lost its connection to KMS \(ECONNRESET\)/);
  });

  it('a refused connection is not retried: one attempt, no retry storm', async () => {
    const gone = await startKmsLocal();
    const { port } = gone;
    await gone.close();
    const kms = await AwsKmsProvider.open({
      endpoint: `http://127.0.0.1:${port}`,
      region: 'us-east-1',
      credentials: { ...KMS_LOCAL_DEFAULT_CREDENTIALS },
      maxAttempts: 10,
    });
    opened.push(kms);
    const error = await failure(kms.generateRandom(8));
    expect({ code: error.code, retryable: error.retryable }).toEqual({
      code: 'UNAVAILABLE',
      retryable: true,
    });
    expect(error.message).toContain('could not reach KMS: the connection was refused');
    expect((error.cause as { $metadata?: { attempts?: number } }).$metadata?.attempts).toBe(1);
  });

  it('a request slower than requestTimeoutMs gives UNAVAILABLE naming the phase: sent, not answered', async () => {
    const kms = await open({ maxAttempts: 1, requestTimeoutMs: 200 });
    server.setFaults({ delayRate: 1, delayMs: 2_000, operations: ['GenerateRandom'] });
    try {
      server.resetRequestCounts();
      const error = await failure(kms.generateRandom(8));
      expect({ code: error.code, retryable: error.retryable }).toEqual({
        code: 'UNAVAILABLE',
        retryable: true,
      });
      expect(error.message).toContain('was sent, but no answer came within the request timeout (200 ms)');
      expect(error.message).not.toContain('could not reach');
      expect(server.requests().byOperation.GenerateRandom).toBe(1);
    } finally {
      server.setFaults(undefined);
    }
  });

  it('the call timeout bounds every attempt together, and says so', async () => {
    const kms = await open({ maxAttempts: 5, callTimeoutMs: 300 });
    server.setFaults({ delayRate: 1, delayMs: 2_000, operations: ['GenerateRandom'] });
    try {
      server.resetRequestCounts();
      const error = await failure(kms.generateRandom(8));
      expect(error.code).toBe('UNAVAILABLE');
      expect(error.message).toContain('no answer within the call timeout (300 ms, every attempt included)');
      expect(server.requests().byOperation.GenerateRandom).toBe(1);
    } finally {
      server.setFaults(undefined);
    }
  });

  it('a circuit breaker stops sending to an endpoint that refuses connections, and says so', async () => {
    const doomed = await startKmsLocal();
    const kms = await open({ circuitBreaker: { failures: 2, cooldownMs: 60_000 } }, doomed);
    await kms.capabilities();
    await doomed.close();
    const errors: KeyswitchError[] = [];
    for (let call = 0; call < 6; call += 1) errors.push(await failure(kms.generateRandom(8)));
    expect(errors.every((error) => error.code === 'UNAVAILABLE')).toBe(true);
    expect(errors[0]!.message).not.toContain('circuit open');
    const open_ = errors.filter((error) => error.message.includes('circuit open'));
    // Once open, calls are not sent at all, and the message says why and when the next try is.
    expect(open_.length).toBeGreaterThanOrEqual(3);
    expect(open_[0]!.message).toContain('not sent: circuit open after 2 calls in a row could not connect');
    expect(open_[0]!.message).toContain('ECONNREFUSED');
    expect(open_[0]!.cause).toBeUndefined();
  });

  it('a circuit closes again once the endpoint answers', async () => {
    const flaky = await startKmsLocal();
    const kms = await open({ circuitBreaker: { failures: 1, cooldownMs: 1 } }, flaky);
    await kms.capabilities();
    const port = flaky.port;
    await flaky.close();
    await failure(kms.generateRandom(8));
    const back = await startKmsLocal({ port });
    try {
      // The cooldown is over: one trial call goes through, and closes the circuit.
      await new Promise((resolve) => setTimeout(resolve, 5));
      expect(await kms.generateRandom(8)).toHaveLength(8);
      expect(await kms.generateRandom(8)).toHaveLength(8);
    } finally {
      await back.close();
    }
  });
});

describe('answers that are not KMS JSON', () => {
  async function withServer(
    status: number,
    contentType: string,
    body: string,
    /** `requests()`: how many GenerateRandom requests the server received. */
    test: (kms: AwsKmsProvider, requests: () => number) => Promise<void>,
  ): Promise<void> {
    let count = 0;
    const http = createServer((request, response) => {
      if (request.headers['x-amz-target'] === 'TrentService.GenerateRandom') count += 1;
      request.resume();
      response.writeHead(status, { 'content-type': contentType });
      response.end(body);
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    const { port } = http.address() as AddressInfo;
    const kms = await AwsKmsProvider.open({
      endpoint: `http://127.0.0.1:${port}`,
      region: 'us-east-1',
      credentials: { ...KMS_LOCAL_DEFAULT_CREDENTIALS },
      maxAttempts: 3,
    });
    try {
      await test(kms, () => count);
    } finally {
      await kms.close();
      http.closeAllConnections();
      await new Promise((resolve) => http.close(resolve));
    }
  }

  it('a proxy page keeps a bounded, sanitized excerpt of its body in the message', async () => {
    const page = `<html><body><h1>502 Bad Gateway</h1>\u0007 upstream kms-proxy-7 ${'x'.repeat(5000)}</body></html>`;
    await withServer(502, 'text/html', page, async (kms) => {
      const error = await failure(kms.generateRandom(8));
      expect(error.code).toBe('UNAVAILABLE');
      expect(error.message).toContain(
        'HTTP 502, a body that is not KMS JSON: "502 Bad Gateway upstream kms-proxy-7 xxx',
      );
      expect(error.message).not.toContain('<h1>');
      expect(error.message).not.toContain('\u0007');
      expect(error.message.length).toBeLessThan(400);
      expect(error.message).not.toContain('SyntaxError');
    });
  });

  it('HTTP 501 is unsupported, not a retryable outage, and is not retried', async () => {
    await withServer(501, 'text/plain', 'Not Implemented', async (kms, requests) => {
      const error = await failure(kms.generateRandom(8));
      expect({ code: error.code, retryable: error.retryable }).toEqual({
        code: 'UNSUPPORTED_OPERATION',
        retryable: false,
      });
      expect(error.message).toContain('not implemented by this endpoint (HTTP 501');
      expect(error.message).toContain('Not Implemented');
      expect(requests()).toBe(1);
    });
  });
});

describe('retries bounded by the call timeout', () => {
  it('throttling that outlasts the call timeout ends as THROTTLED before maxAttempts', async () => {
    const kms = await open({ maxAttempts: 10, callTimeoutMs: 400 });
    server.setFaults({ throttleRate: 1, operations: ['GenerateRandom'] });
    try {
      server.resetRequestCounts();
      const error = await failure(kms.generateRandom(8));
      expect({ code: error.code, retryable: error.retryable }).toEqual({
        code: 'THROTTLED',
        retryable: true,
      });
      const sent = server.requests().byOperation.GenerateRandom ?? 0;
      expect(sent).toBeGreaterThanOrEqual(1);
      expect(sent).toBeLessThan(10);
    } finally {
      server.setFaults(undefined);
    }
  });
});

describe('client-side rate limits', () => {
  it('paces requests of a class, and fails beyond maxWaitMs without sending', async () => {
    const paced = await open({ rateLimits: { generateRandom: 20 } });
    // 20 tokens at once, then 5 more at 20 a second: the last waits for the limiter's timers (250 ms on
    // this process's clock), so a 100 ms timer set now fires first. Order, not duration, is asserted.
    let earlier = false;
    setTimeout(() => {
      earlier = true;
    }, 100);
    const results = await Promise.all(Array.from({ length: 25 }, () => paced.generateRandom(1)));
    expect(results).toHaveLength(25);
    expect(earlier).toBe(true);

    const strict = await open({ rateLimits: { generateRandom: 3, maxWaitMs: 0 } });
    server.resetRequestCounts();
    const outcomes = await Promise.allSettled(Array.from({ length: 5 }, () => strict.generateRandom(1)));
    expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(3);
    const refused = outcomes.find((outcome) => outcome.status === 'rejected') as PromiseRejectedResult;
    expect(refused.reason).toMatchObject({ code: 'THROTTLED', retryable: true });
    expect(server.requests().byOperation.GenerateRandom).toBe(3);
  });

  it('accepts true for the KMS default quotas', async () => {
    const kms = await open({ rateLimits: true });
    expect(await kms.generateRandom(4)).toHaveLength(4);
    await expect(open({ rateLimits: { rsa: -1 } })).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
  });
});
