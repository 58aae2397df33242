import { describe, expect, it } from 'vitest';
import {
  AuditBus,
  type AuditEvent,
  type Capabilities,
  type ExtensionInfo,
  isKeyswitchError,
  type KeyDescription,
  KeyProvider,
  KeyswitchError,
} from '../src/index.js';

/** A backend with one declared extension (listAliases, a read) and a method for an undeclared one. */
class WithExtensions extends KeyProvider {
  readonly type = 'with-extensions';
  readonly bodies: ExtensionInfo[] = [];

  protected onCapabilities(): Capabilities {
    return {
      keySpecs: {},
      algorithms: [],
      operations: {
        createKey: false,
        enableKey: false,
        disableKey: false,
        scheduleKeyDeletion: false,
        listKeys: false,
        generateDataKey: false,
        generateRandom: false,
      },
      deletionWindowDays: { min: 7, max: 30 },
      extensions: { listAliases: { changesState: false } },
    };
  }

  protected async onDescribeKey(ref: string): Promise<KeyDescription> {
    throw new KeyswitchError('KEY_NOT_FOUND', `no key ${ref}`);
  }

  listAliases(): Promise<string[]> {
    return this.runExtension('listAliases', {}, async (declared) => {
      this.bodies.push(declared);
      return ['alias/acs-signing'];
    });
  }

  /** Not in the manifest: the core must refuse it before the body runs. */
  createAlias(alias: string, ref: string): Promise<void> {
    return this.runExtension('createAlias', { ref }, async (declared) => {
      this.bodies.push(declared);
      void alias;
    });
  }
}

function recorded(): { audit: AuditBus; events: AuditEvent[] } {
  const audit = new AuditBus();
  const events: AuditEvent[] = [];
  audit.subscribe((event) => events.push(event));
  return { audit, events };
}

describe('KeyProvider.runExtension', () => {
  it('refuses an extension the manifest does not declare: UNSUPPORTED_OPERATION, one failure event, no body', async () => {
    const { audit, events } = recorded();
    const provider = new WithExtensions({ name: 'kms', audit });
    const error = await provider.createAlias('alias/new', 'key-1').then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(isKeyswitchError(error, 'UNSUPPORTED_OPERATION')).toBe(true);
    expect((error as KeyswitchError).message).toMatch(/createAlias/);
    expect(provider.bodies).toEqual([]);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      operation: 'createAlias',
      outcome: 'failure',
      errorCode: 'UNSUPPORTED_OPERATION',
      provider: 'kms',
      keyRef: 'key-1',
    });
  });

  it('runs a declared extension once, hands the body its declaration, and audits one success', async () => {
    const { audit, events } = recorded();
    const provider = new WithExtensions({ name: 'kms', audit });
    expect(await provider.listAliases()).toEqual(['alias/acs-signing']);
    expect(provider.bodies).toEqual([{ changesState: false }]);
    expect(events.map((event) => [event.operation, event.outcome])).toEqual([['listAliases', 'success']]);
  });

  it('refuses a declared extension after close with CLOSED', async () => {
    const provider = new WithExtensions();
    await provider.close();
    const error = await provider.listAliases().catch((caught: unknown) => caught);
    expect(isKeyswitchError(error, 'CLOSED')).toBe(true);
    expect(provider.bodies).toEqual([]);
  });
});
