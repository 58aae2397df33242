import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { KmsException } from './kms-exception.js';

/**
 * A credential pair kms-local accepts, and the account its caller belongs to.
 *
 * @example
 * ```ts
 * await startKmsLocal({ credentials: [KMS_LOCAL_DEFAULT_CREDENTIALS, { accessKeyId: 'PARTNER', secretAccessKey: 'p', accountId: '444455556666' }] });
 * ```
 */
export interface KmsLocalCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** The caller's AWS account (default: the server's `accountId`). Keys belong to the account that created them. */
  readonly accountId?: string;
}

/** The request as the verifier needs it. */
export interface SignedRequest {
  readonly method: string;
  /** The raw request target: path and query string, as received. */
  readonly url: string;
  /** Header values by lower-case name; repeated headers as arrays (Node's `headersDistinct`). */
  readonly headers: Readonly<Record<string, readonly string[] | undefined>>;
  readonly body: Buffer;
}

/** Who signed a request. */
export interface Signer {
  readonly accessKeyId: string;
  /** Set when the credentials were verified against a known secret. */
  readonly accountId: string | undefined;
}

/** How requests are authenticated. */
export interface SignatureCheck {
  readonly region: string;
  readonly service: string;
  /** Known credentials, verified fully; `'any'` checks only that the header is well-formed. */
  readonly credentials: readonly KmsLocalCredentials[] | 'any';
  /** Largest accepted difference between `X-Amz-Date` and the server's clock, in seconds. */
  readonly maxClockSkewSeconds: number;
  readonly now?: () => Date;
}

const AUTHORIZATION =
  /^AWS4-HMAC-SHA256 +Credential=([^/,\s]+)\/(\d{8})\/([^/,\s]+)\/([^/,\s]+)\/aws4_request, *SignedHeaders=([a-z0-9;_.-]+), *Signature=([0-9a-f]{64})$/;

/**
 * Checks a request's AWS Signature Version 4 `Authorization` header: its form, the credential scope
 * (date, region, service), the clock skew and, with known credentials, the signature itself, by
 * recomputing the canonical request from the method, path, query, signed headers and body.
 *
 * @throws {@link KmsException} `MissingAuthenticationTokenException`, `IncompleteSignatureException`,
 * `InvalidSignatureException` or `UnrecognizedClientException`
 */
export function verifySignature(request: SignedRequest, check: SignatureCheck): Signer {
  const header = single(request.headers['authorization']);
  if (header === undefined || header.trim() === '') {
    throw new KmsException('MissingAuthenticationTokenException', 'Missing Authentication Token');
  }
  const match = AUTHORIZATION.exec(header.trim());
  if (!match) {
    throw new KmsException(
      'IncompleteSignatureException',
      'Authorization header requires AWS4-HMAC-SHA256 with Credential=<key>/<date>/<region>/<service>/aws4_request, SignedHeaders=… and Signature=<64 hex digits>',
    );
  }
  const [, accessKeyId, scopeDate, region, service, signedHeaderList, signature] = match as unknown as [
    string,
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  const signedHeaders = signedHeaderList.split(';');
  if (signedHeaders.some((name) => name === '') || [...signedHeaders].sort().join(';') !== signedHeaderList) {
    throw new KmsException(
      'IncompleteSignatureException',
      'SignedHeaders must be lower-case names, sorted, separated by ";"',
    );
  }
  if (!signedHeaders.includes('host')) {
    throw new KmsException('IncompleteSignatureException', "SignedHeaders must include 'host'");
  }
  const amzDate = single(request.headers['x-amz-date']);
  if (amzDate === undefined || !signedHeaders.includes('x-amz-date')) {
    throw new KmsException(
      'IncompleteSignatureException',
      "Authorization requires a signed 'X-Amz-Date' header",
    );
  }
  const requestTime = parseAmzDate(amzDate);
  if (requestTime === undefined) {
    throw new KmsException(
      'IncompleteSignatureException',
      `X-Amz-Date ${JSON.stringify(amzDate)} is not of the form YYYYMMDD'T'HHMMSS'Z'`,
    );
  }
  if (amzDate.slice(0, 8) !== scopeDate) {
    throw new KmsException(
      'InvalidSignatureException',
      `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${scopeDate}' != '${amzDate.slice(0, 8)}'`,
    );
  }
  if (service !== check.service) {
    throw new KmsException(
      'InvalidSignatureException',
      `Credential should be scoped to correct service: '${check.service}'.`,
    );
  }
  if (region !== check.region) {
    throw new KmsException(
      'InvalidSignatureException',
      `Credential should be scoped to a valid region, '${check.region}'.`,
    );
  }
  const now = (check.now ?? (() => new Date()))();
  if (Math.abs(now.getTime() - requestTime.getTime()) > check.maxClockSkewSeconds * 1000) {
    throw new KmsException(
      'InvalidSignatureException',
      `Signature expired: ${amzDate} is outside ${check.maxClockSkewSeconds} seconds of the server's time`,
    );
  }
  for (const name of signedHeaders) {
    if (request.headers[name] === undefined) {
      throw new KmsException('IncompleteSignatureException', `Signed header '${name}' is not in the request`);
    }
  }
  if (check.credentials === 'any') return { accessKeyId, accountId: undefined };

  const known = check.credentials.find((entry) => entry.accessKeyId === accessKeyId);
  if (!known) {
    throw new KmsException(
      'UnrecognizedClientException',
      'The security token included in the request is invalid.',
    );
  }
  const scope = `${scopeDate}/${region}/${service}/aws4_request`;
  const canonical = canonicalRequest(request, signedHeaders);
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256Hex(canonical)].join('\n');
  let key = hmac(`AWS4${known.secretAccessKey}`, scopeDate);
  for (const part of [region, service, 'aws4_request']) key = hmac(key, part);
  const expected = hmac(key, stringToSign);
  if (!timingSafeEqual(expected, Buffer.from(signature, 'hex'))) {
    throw new KmsException(
      'InvalidSignatureException',
      'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.',
    );
  }
  return { accessKeyId, accountId: known.accountId };
}

function canonicalRequest(request: SignedRequest, signedHeaders: readonly string[]): string {
  const queryStart = request.url.indexOf('?');
  const path = queryStart === -1 ? request.url : request.url.slice(0, queryStart);
  const query = queryStart === -1 ? '' : request.url.slice(queryStart + 1);
  const headerLines = signedHeaders.map((name) => {
    const values = (request.headers[name] ?? []).map((value) => value.trim().replace(/\s+/g, ' '));
    return `${name}:${values.join(',')}\n`;
  });
  return [
    request.method.toUpperCase(),
    canonicalPath(path),
    canonicalQuery(query),
    headerLines.join(''),
    signedHeaders.join(';'),
    single(request.headers['x-amz-content-sha256']) ?? sha256Hex(request.body),
  ].join('\n');
}

/** Each path segment percent-encoded again, as SigV4 does for every service but S3. */
function canonicalPath(path: string): string {
  if (path === '' || path === '/') return '/';
  return path
    .split('/')
    .map((segment) => uriEncode(segment))
    .join('/');
}

function canonicalQuery(query: string): string {
  if (query === '') return '';
  return query
    .split('&')
    .filter((pair) => pair !== '')
    .map((pair) => {
      const equals = pair.indexOf('=');
      const name = equals === -1 ? pair : pair.slice(0, equals);
      const value = equals === -1 ? '' : pair.slice(equals + 1);
      return [uriEncode(safeDecode(name)), uriEncode(safeDecode(value))] as const;
    })
    .sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0))
    .map(([name, value]) => `${name}=${value}`)
    .join('&');
}

function uriEncode(text: string): string {
  return encodeURIComponent(text).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, '%20'));
  } catch {
    return text;
  }
}

function parseAmzDate(text: string): Date | undefined {
  const match = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  if (!match) return undefined;
  const [, y, mo, d, h, mi, s] = match.map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const date = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
  return Number.isNaN(date.getTime()) ? undefined : date;
}

function single(values: readonly string[] | undefined): string | undefined {
  return values === undefined ? undefined : values.join(',');
}

function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}
