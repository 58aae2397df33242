import { secretReferenceSchema } from '@keyswitch/core';
import { z } from 'zod';

const positive = (what: string) => z.number({ error: `expected ${what}` }).positive(`expected ${what}`);
const milliseconds = (what: string) =>
  z
    .int({ error: `expected ${what} in milliseconds` })
    .min(1, `expected ${what} in milliseconds`)
    .max(600_000);

const rateLimitsSchema = z.strictObject({
  symmetric: positive('requests per second').optional(),
  rsa: positive('requests per second').optional(),
  ecc: positive('requests per second').optional(),
  hmac: positive('requests per second').optional(),
  generateRandom: positive('requests per second').optional(),
  getPublicKey: positive('requests per second').optional(),
  describeKey: positive('requests per second').optional(),
  list: positive('requests per second').optional(),
  management: positive('requests per second').optional(),
  maxWaitMs: z.int({ error: 'expected milliseconds' }).min(0).max(60_000).optional(),
});

/**
 * The zod schema of an `aws-kms` provider section. Region, credentials and profile default to the AWS
 * SDK's own chains (environment, shared config files, instance and container roles). Explicit
 * credentials, when given, are secret references, never values.
 *
 * @example
 * ```ts
 * awsKmsConfigSchema.parse({ type: 'aws-kms', region: 'ap-northeast-1', localVerify: true, rateLimits: true });
 * ```
 */
export const awsKmsConfigSchema = z.strictObject({
  type: z.literal('aws-kms', { error: 'expected "aws-kms"' }),
  region: z
    .string({ error: 'expected an AWS Region name such as "eu-west-1"' })
    .regex(/^[a-z]{2}(-[a-z]+)+-\d+$/, 'expected an AWS Region name such as "eu-west-1"')
    .optional(),
  endpoint: z
    .url({ protocol: /^https?$/, error: 'expected an http(s) URL, such as a VPC endpoint or kms-local' })
    .optional(),
  allowPlainHttp: z.boolean({ error: 'expected true or false' }).optional(),
  allowKmsLocalCredentials: z.boolean({ error: 'expected true or false' }).optional(),
  profile: z.string().min(1, 'expected a profile name from the shared AWS config files').optional(),
  credentials: z
    .strictObject({
      accessKeyId: z.union([z.string().min(1), secretReferenceSchema], {
        error: 'expected an access key id, or a reference { "env": "VARIABLE" }',
      }),
      secretAccessKey: secretReferenceSchema,
      sessionToken: secretReferenceSchema.optional(),
    })
    .optional(),
  maxAttempts: z.int({ error: 'expected the number of attempts, 1 to 10' }).min(1).max(10).optional(),
  retryMode: z.enum(['adaptive', 'standard'], { error: 'expected "adaptive" or "standard"' }).optional(),
  callTimeoutMs: milliseconds('the call timeout').optional(),
  managementTimeoutMs: milliseconds('the key-management call timeout').optional(),
  requestTimeoutMs: milliseconds('the request timeout').optional(),
  connectionTimeoutMs: milliseconds('the connection timeout').optional(),
  maxSockets: z.int({ error: 'expected a number of sockets' }).min(1).max(1000).optional(),
  cachePublicKeys: z.boolean({ error: 'expected true or false' }).optional(),
  keyStateTtlMs: milliseconds('the key-state TTL').optional(),
  localVerify: z.boolean({ error: 'expected true or false' }).optional(),
  localEncrypt: z.boolean({ error: 'expected true or false' }).optional(),
  rateLimits: z
    .union([z.boolean(), rateLimitsSchema], {
      error: 'expected true (KMS default quotas), false, or requests per second by class',
    })
    .optional(),
  circuitBreaker: z
    .union(
      [
        z.literal(false),
        z.strictObject({
          failures: z.int({ error: 'expected a number of calls' }).min(1).max(100).optional(),
          cooldownMs: milliseconds('the cooldown').optional(),
        }),
      ],
      { error: 'expected false, or { "failures": 3, "cooldownMs": 5000 }' },
    )
    .optional(),
});

/**
 * A validated `aws-kms` provider section.
 *
 * @example
 * ```ts
 * const config: AwsKmsConfig = { type: 'aws-kms', region: 'us-east-1', endpoint: 'http://127.0.0.1:4599' };
 * ```
 */
export type AwsKmsConfig = z.output<typeof awsKmsConfigSchema>;
