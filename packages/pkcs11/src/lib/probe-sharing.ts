import type { ProbeResult } from './capability-probe.js';

/** Per token and profile: the probe, and the providers sharing it. */
const probes = new Map<string, { probe: Promise<ProbeResult>; users: Set<object> }>();

/**
 * A probe once per token per process: every open provider on the same module, token and profile shares
 * the first probe's answer. A failed probe is forgotten (it runs again on the next call), and so is the
 * answer once the last provider sharing it has called {@link releaseProbe}: a token reopened later is
 * probed again.
 *
 * @example
 * ```ts
 * const result = await probeOnce(`${module.path}#${token.serial}#softhsm`, provider, () => runProbe());
 * ```
 */
export function probeOnce(
  key: string,
  user: object,
  probe: () => Promise<ProbeResult>,
): Promise<ProbeResult> {
  let entry = probes.get(key);
  if (entry === undefined) {
    const running = probe();
    const created = { probe: running, users: new Set<object>() };
    entry = created;
    probes.set(key, created);
    running.catch(() => {
      if (probes.get(key) === created) probes.delete(key);
    });
  }
  entry.users.add(user);
  return entry.probe;
}

/**
 * Says that `user` (a provider, on close) no longer needs the probes it shared.
 *
 * @example
 * ```ts
 * releaseProbe(provider);
 * ```
 */
export function releaseProbe(user: object): void {
  for (const [key, entry] of probes) {
    entry.users.delete(user);
    if (entry.users.size === 0) probes.delete(key);
  }
}
