import type { ConformanceEvent } from '@keyswitch/conformance';
import { describe, expect, it } from 'vitest';
import { ConformanceProgress } from '../src/lib/conformance-progress.js';

const provider = { name: 'hsm', type: 'pkcs11' };
const events: ConformanceEvent[] = [
  { type: 'run-start', runId: 'r1', provider, groups: ['signing'], tests: 2 },
  { type: 'group-start', group: 'signing', tests: 2 },
  { type: 'test-start', group: 'signing', name: 'signs' },
  { type: 'test-end', result: { group: 'signing', name: 'signs', status: 'passed', durationMs: 3 } },
  { type: 'test-start', group: 'signing', name: 'PSS salt' },
  {
    type: 'test-end',
    result: {
      group: 'signing',
      name: 'PSS salt',
      status: 'failed',
      reason: 'salt is 20 bytes',
      durationMs: 2,
    },
  },
];

describe('conformance progress', () => {
  it('prints one line per check when stderr is not a terminal', () => {
    let text = '';
    const progress = new ConformanceProgress({ write: (chunk: string) => (text += chunk) });
    for (const event of events) progress.onEvent(event);
    progress.stop();
    expect(text.split('\n')).toEqual([
      'conformance run r1 against hsm (pkcs11): 2 checks in signing',
      'signing: 2 checks',
      '[1/2] PASS signing › signs',
      '[2/2] FAIL signing › PSS salt: salt is 20 bytes',
      '',
    ]);
  });

  it('draws a bar on a terminal and lists the failures under it', () => {
    let text = '';
    const terminal = {
      isTTY: true,
      columns: 120,
      write: (chunk: string) => {
        text += chunk;
        return true;
      },
      cursorTo: () => true,
      moveCursor: () => true,
      clearLine: () => true,
      clearScreenDown: () => true,
      on: () => terminal,
      removeListener: () => terminal,
    };
    const progress = new ConformanceProgress(terminal);
    for (const event of events) progress.onEvent(event);
    progress.stop();
    expect(text).toMatch(/2\/2 \| failed 1/);
    expect(text).toMatch(/FAIL signing › PSS salt: salt is 20 bytes\n$/);
    expect(text).not.toMatch(/^\[1\/2\]/m);
  });
});
