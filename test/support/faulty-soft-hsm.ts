import { KeyswitchError, type ProviderFactory } from '@keyswitch/core';
import { providerFactory as softHsm } from '@keyswitch/soft-hsm';

/** What the fault layer does to `sign`: nothing, fail as unreachable, or hang until released. */
export interface SignFault {
  mode: 'none' | 'down' | 'hang';
  /** Releases every hung call (they then sign, late). */
  release(): void;
}

/**
 * A real software HSM (provider type `faulty-hsm`) whose `sign` a test can make unreachable or hang: the
 * software HSM cannot fail by itself. A fault layer in addition to real backends, never instead.
 */
export function faultySoftHsm(): { factory: ProviderFactory<never>; fault: SignFault } {
  const hung: (() => void)[] = [];
  const fault: SignFault = {
    mode: 'none',
    release: () => {
      for (const resolve of hung.splice(0)) resolve();
    },
  };
  const factory: ProviderFactory<never> = {
    type: 'faulty-hsm',
    parseConfig: (raw, path) => softHsm.parseConfig({ ...(raw as object), type: 'soft-hsm' }, path) as never,
    async create(config, context) {
      const hsm = await softHsm.create(config, context);
      const sign = hsm.sign.bind(hsm);
      hsm.sign = async (request, call) => {
        if (fault.mode === 'down') throw new KeyswitchError('UNAVAILABLE', 'the fault layer is down');
        if (fault.mode === 'hang') await new Promise<void>((resolve) => hung.push(resolve));
        return sign(request, call);
      };
      return hsm;
    },
  };
  return { factory, fault };
}
