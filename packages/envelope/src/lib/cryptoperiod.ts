import type { KeyVersion } from './key-version.js';

const DAY_MS = 86_400_000;

/** When a version's cryptoperiod starts: its configured date, else the backend key's creation date. */
export function cryptoperiodStart(version: KeyVersion): Date | undefined {
  return version.info.createdAt ?? version.description?.createdAt;
}

/** When a version's cryptoperiod ends, or `undefined` without a cryptoperiod or a start date. */
export function cryptoperiodEnd(version: KeyVersion): Date | undefined {
  const days = version.info.cryptoperiodDays;
  const start = cryptoperiodStart(version);
  if (days === undefined || start === undefined) return undefined;
  return new Date(start.getTime() + days * DAY_MS);
}

/** Milliseconds in `days` days. */
export function daysToMs(days: number): number {
  return days * DAY_MS;
}
