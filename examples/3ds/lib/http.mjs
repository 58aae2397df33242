// A few lines of node:http for the example's servers and clients: JSON for the AReq/ARes leg, compact JWE
// text (`application/jose`) for CReq/CRes, loopback only.
import { createServer } from 'node:http';

const MAX_BODY_BYTES = 64 * 1024;
export const MESSAGE_VERSION = '2.2.0';

/**
 * Listens on 127.0.0.1 on a free port. `routes` maps "METHOD /path" to a handler receiving the request body
 * (text) and returning `{ status?, json }` or `{ status?, jose }`. A handler that throws answers 500.
 */
export function listen(routes, say) {
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://127.0.0.1').pathname;
    const handler = routes[`${request.method} ${path}`];
    const chunks = [];
    let size = 0;
    request.on('data', (chunk) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) request.destroy();
      else chunks.push(chunk);
    });
    request.on('end', async () => {
      let answer;
      try {
        answer = handler
          ? await handler(Buffer.concat(chunks).toString('utf8'), request)
          : { status: 404, json: erroMessage('201', 'unknown endpoint', path) };
      } catch (error) {
        say(`internal error on ${path}: ${error?.code ?? ''} ${error?.message ?? error}`);
        answer = { status: 500, json: erroMessage('402', 'internal error', String(error?.code ?? 'error')) };
      }
      const body = answer.jose ?? JSON.stringify(answer.json);
      response.writeHead(answer.status ?? 200, {
        'content-type': answer.jose === undefined ? 'application/json' : 'application/jose',
      });
      response.end(body);
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      resolve({
        url: `http://127.0.0.1:${port}`,
        close: () =>
          new Promise((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}

/** An EMV 3DS Error Message (`Erro`); the keyswitch error code, if any, goes in `errorDetail`. */
export function erroMessage(errorCode, errorDescription, errorDetail, errorComponent = 'D') {
  return {
    messageType: 'Erro',
    messageVersion: MESSAGE_VERSION,
    errorCode,
    errorComponent,
    errorDescription,
    errorDetail,
  };
}

/** GET a JSON document. */
export async function getJson(url) {
  const response = await fetch(url);
  return { status: response.status, json: await response.json() };
}

/** POST JSON, answer JSON. */
export async function postJson(url, body) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, json: await response.json() };
}

/** POST a compact JWE (`application/jose`); the answer is a JWE, or an `Erro` message in JSON. */
export async function postJose(url, jwe) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/jose' },
    body: jwe,
  });
  const text = await response.text();
  const isJose = response.headers.get('content-type') === 'application/jose';
  return {
    status: response.status,
    jose: isJose ? text : undefined,
    json: isJose ? undefined : JSON.parse(text),
  };
}

/**
 * Stops cleanly on SIGTERM or SIGINT, or when the runner that started this process goes away (its IPC
 * channel closes): runs `stop`, then exits 0 (1 if `stop` fails).
 */
export function onShutdown(stop) {
  let stopping = false;
  const handler = async () => {
    if (stopping) return;
    stopping = true;
    try {
      await stop();
      process.exit(0);
    } catch (error) {
      console.error(`shutdown failed: ${error?.message ?? error}`);
      process.exit(1);
    }
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
  if (process.channel) {
    process.on('disconnect', handler);
    process.channel.unref();
  }
}

/** The value of `--name VALUE` in argv. */
export function argument(name) {
  const index = process.argv.indexOf(name);
  return index === -1 ? undefined : process.argv[index + 1];
}
