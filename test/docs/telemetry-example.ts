// The example of docs/telemetry.md ("Turning it on"), run by test/telemetry.test.ts, which also checks
// that the block in the docs is the body of this function.
import {
  Keyswitch,
  type KeyswitchConfigInput,
  type KeyswitchLogger,
  type TelemetryMeterProvider,
  type TelemetryTracerProvider,
} from '@keyswitch/core';

export async function signWithTelemetry(
  config: KeyswitchConfigInput,
  meterProvider: TelemetryMeterProvider,
  tracerProvider: TelemetryTracerProvider,
  logger: KeyswitchLogger,
  payload: Uint8Array,
): Promise<Uint8Array> {
  // docs:begin
  const ks = await Keyswitch.fromConfig(config, {
    telemetry: { meterProvider, tracerProvider }, // or true: OpenTelemetry's global providers
    logger, // pino(), or anything with error, warn, info and debug methods
  });
  const signature = await ks.signer('acs-signing').sign(payload, { requestId: 'txn-8f14e45f' });
  await ks.close();
  // docs:end
  return signature;
}
