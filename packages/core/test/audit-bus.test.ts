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

  it('holds one barrier, which its remover takes away (and only its own)', async () => {
    const bus = new AuditBus();
    expect(bus.barrier).toBeUndefined();
    const first = () => Promise.resolve();
    const second = () => Promise.reject(new Error('not written'));
    const removeFirst = bus.setBarrier(first);
    expect(bus.barrier).toBe(first);
    const removeSecond = bus.setBarrier(second);
    removeFirst(); // no longer the barrier: nothing changes
    expect(bus.barrier).toBe(second);
    await expect(bus.barrier!()).rejects.toThrow('not written');
    removeSecond();
    expect(bus.barrier).toBeUndefined();
  });
});
