import type {
  DeserializeMiddleware,
  FinalizeRequestMiddleware,
  HttpResponse,
  MetadataBearer,
  MiddlewareStack,
} from '@smithy/types';

/** How much of an error body is kept for the error message. */
const EXCERPT_CHARS = 200;
const MAX_COLLECTED_BYTES = 64 * 1024;

/**
 * The error a request that must not be repeated (CreateKey) fails with in place of the SDK's: its shape
 * marks it as not retryable to any SDK retry strategy, and it carries the real error for the mapping.
 */
export class SentOnceError extends Error {
  override readonly name = 'SentOnceError';
  readonly original: unknown;

  constructor(original: unknown) {
    super('the request was sent once and is not repeated');
    this.original = original;
  }
}

/** Marks a command so that the SDK never retries it, whatever the client's retry strategy. */
export function sendOnce<Input extends object, Output extends MetadataBearer>(
  stack: MiddlewareStack<Input, Output>,
): void {
  const middleware: FinalizeRequestMiddleware<Input, Output> = (next) => async (args) => {
    try {
      return await next(args);
    } catch (error) {
      throw new SentOnceError(error);
    }
  };
  stack.add(middleware, { step: 'finalizeRequest', priority: 'low', name: 'keyswitchSendOnce' });
}

/**
 * Keeps the body of an error response readable after the SDK has parsed it, so that a body that is not
 * KMS's JSON (a proxy's HTML page, a plain-text 501) can be quoted, bounded and sanitized, in the error.
 */
export function keepErrorBodies<Input extends object, Output extends MetadataBearer>(
  stack: MiddlewareStack<Input, Output>,
): void {
  const middleware: DeserializeMiddleware<Input, Output> = (next) => async (args) => {
    const result = await next(args);
    const response = result.response as HttpResponse;
    if (response.statusCode >= 300 && isReadable(response.body)) {
      response.body = await collect(response.body);
    }
    return result;
  };
  stack.add(middleware, { step: 'deserialize', priority: 'low', name: 'keyswitchKeepErrorBodies' });
}

/**
 * A short, printable excerpt of an error response's body kept by {@link keepErrorBodies}, or undefined.
 * Control characters and markup are dropped, whitespace folded, and the text cut at 200 characters.
 */
export function errorBodyExcerpt(error: unknown): string | undefined {
  const response = (error as { $response?: { body?: unknown } } | undefined)?.$response;
  if (!(response?.body instanceof Uint8Array) || response.body.byteLength === 0) return undefined;
  const text = Buffer.from(response.body)
    .toString('utf8')
    .replace(/<[^>]*>/g, ' ')
    .replace(/[^\x20-\x7e]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  if (text.length === 0) return undefined;
  return text.length > EXCERPT_CHARS ? `${text.slice(0, EXCERPT_CHARS)}…` : text;
}

function isReadable(body: unknown): body is AsyncIterable<Uint8Array> {
  return typeof body === 'object' && body !== null && Symbol.asyncIterator in body;
}

async function collect(body: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of body) {
    if (size < MAX_COLLECTED_BYTES) chunks.push(chunk);
    size += chunk.byteLength;
  }
  return new Uint8Array(Buffer.concat(chunks).subarray(0, MAX_COLLECTED_BYTES));
}
