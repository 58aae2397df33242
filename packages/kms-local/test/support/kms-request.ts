import { createHash, createHmac } from 'node:crypto';

/** A response from kms-local, parsed. */
export interface KmsResponse {
  readonly status: number;
  readonly contentType: string | null;
  readonly body: Record<string, unknown>;
}

export interface SignOptions {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly region: string;
  readonly date?: Date;
}

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data).digest();
}

/**
 * Sends one KMS JSON 1.1 request with fetch, signed with SigV4 written out by hand for the test (so a
 * test can also send it unsigned or signed wrongly).
 */
export async function kmsRequest(
  endpoint: string,
  operation: string,
  payload: Record<string, unknown>,
  sign?: SignOptions,
  extraHeaders: Record<string, string> = {},
): Promise<KmsResponse> {
  const body = JSON.stringify(payload);
  const url = new URL(endpoint);
  const headers: Record<string, string> = {
    'content-type': 'application/x-amz-json-1.1',
    'x-amz-target': `TrentService.${operation}`,
    host: url.host,
    ...extraHeaders,
  };
  if (sign) {
    const amzDate = (sign.date ?? new Date())
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d{3}/, '');
    headers['x-amz-date'] = amzDate;
    const names = Object.keys(headers).sort();
    const canonical = [
      'POST',
      '/',
      '',
      names.map((name) => `${name}:${headers[name]!.trim()}\n`).join(''),
      names.join(';'),
      createHash('sha256').update(body).digest('hex'),
    ].join('\n');
    const scope = `${amzDate.slice(0, 8)}/${sign.region}/kms/aws4_request`;
    const toSign = [
      'AWS4-HMAC-SHA256',
      amzDate,
      scope,
      createHash('sha256').update(canonical).digest('hex'),
    ].join('\n');
    let key = hmac(`AWS4${sign.secretAccessKey}`, amzDate.slice(0, 8));
    for (const part of [sign.region, 'kms', 'aws4_request']) key = hmac(key, part);
    const signature = hmac(key, toSign).toString('hex');
    headers.authorization = `AWS4-HMAC-SHA256 Credential=${sign.accessKeyId}/${scope}, SignedHeaders=${names.join(';')}, Signature=${signature}`;
  }
  const { host: _host, ...sent } = headers;
  const response = await fetch(endpoint, { method: 'POST', headers: sent, body });
  const text = await response.text();
  return {
    status: response.status,
    contentType: response.headers.get('content-type'),
    body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
  };
}
