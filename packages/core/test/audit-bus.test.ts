import { describe, expect, it, vi } from 'vitest';
import { AuditBus, type AuditEvent } from '../src/index.js';

const event: AuditEvent = {
  time: new Date(0).toISOString(),
  operation: 'sign',
  provider: 'dev',
  providerType: 'soft-hsm',
  outcome: 'success',
  durationMs: 1,
};

describe('AuditBus', () => {
  it('delivers to subscribers until they unsubscribe', () => {
    const bus = new AuditBus();
    const seen: AuditEvent[] = [];
    expect(bus.active).toBe(false);
    const stop = bus.subscribe((e) => seen.push(e));
    expect(bus.active).toBe(true);
    bus.emit(event);
    stop();
    bus.emit(event);
    expect(seen).toEqual([event]);
  });

  it('survives a throwing listener and warns once', () => {
    const bus = new AuditBus();
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    const after = vi.fn();
    bus.subscribe(() => {
      throw new Error('sink down');
    });
    bus.subscribe(after);
    bus.emit(event);
    bus.emit(event);
    expect(after).toHaveBeenCalledTimes(2);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0]![0])).toMatch(/audit listener threw: sink down/);
    warn.mockRestore();
  });
});
