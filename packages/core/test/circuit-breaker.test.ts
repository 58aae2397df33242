import { describe, expect, it } from 'vitest';
import { CircuitBreaker } from '../src/index.js';

describe('CircuitBreaker', () => {
  it('opens after consecutive failures, lets one probe through after the cool-down, closes on its success', () => {
    const clock = { now: 0 };
    const breaker = new CircuitBreaker({ failures: 3, coolDownMs: 1_000, clock: () => clock.now });
    expect(breaker.allows()).toBe(true);
    breaker.failed();
    breaker.failed();
    breaker.succeeded(); // an answer in between: the count starts again
    breaker.failed();
    breaker.failed();
    expect(breaker.state).toBe('closed');
    breaker.failed();
    expect(breaker.state).toBe('open');
    expect(breaker.allows()).toBe(false);
    clock.now = 999;
    expect(breaker.allows()).toBe(false);
    clock.now = 1_000;
    expect(breaker.state).toBe('half-open');
    expect(breaker.allows()).toBe(true); // the probe
    expect(breaker.allows()).toBe(false); // the others wait for it
    breaker.succeeded();
    expect(breaker.state).toBe('closed');
    expect(breaker.allows()).toBe(true);
  });

  it('a failed probe opens it again for twice as long, up to the maximum', () => {
    const clock = { now: 0 };
    const breaker = new CircuitBreaker({
      failures: 1,
      coolDownMs: 1_000,
      maxCoolDownMs: 3_000,
      clock: () => clock.now,
    });
    breaker.failed();
    for (const coolDown of [2_000, 3_000, 3_000]) {
      clock.now += 1_000_000; // long past any cool-down
      expect(breaker.allows()).toBe(true);
      breaker.failed();
      const openedAt = clock.now;
      clock.now = openedAt + coolDown - 1;
      expect(breaker.allows()).toBe(false);
      clock.now = openedAt + coolDown;
      expect(breaker.state).toBe('half-open');
      clock.now = openedAt;
    }
    clock.now += 3_000;
    expect(breaker.allows()).toBe(true);
    breaker.succeeded();
    breaker.failed(); // closed again: the cool-down is back to its base
    clock.now += 1_000;
    expect(breaker.state).toBe('half-open');
  });
});
