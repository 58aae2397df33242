import type { TestApi } from '../options.js';

/** A test the collector saw. */
export interface CollectedTest {
  readonly kind: 'test';
  readonly name: string;
  readonly body: (...context: unknown[]) => Promise<void>;
  readonly timeout: number | undefined;
}

/** A hook the collector saw. */
export interface CollectedHook {
  readonly body: () => Promise<void>;
  readonly timeout: number | undefined;
}

/** A describe block the collector saw, with its tests, nested blocks and hooks in declaration order. */
export interface CollectedBlock {
  readonly kind: 'block';
  readonly name: string;
  readonly children: Array<CollectedTest | CollectedBlock>;
  readonly beforeAll: CollectedHook[];
  readonly afterAll: CollectedHook[];
}

/**
 * Runs `declare` with a describe/it/beforeAll/afterAll of its own that record what is declared instead of
 * running it; returns the root block.
 */
export function collect(declare: (api: TestApi) => void): CollectedBlock {
  const root: CollectedBlock = { kind: 'block', name: '', children: [], beforeAll: [], afterAll: [] };
  let current = root;
  declare({
    describe(name, body) {
      const block: CollectedBlock = { kind: 'block', name, children: [], beforeAll: [], afterAll: [] };
      current.children.push(block);
      const parent = current;
      current = block;
      try {
        body();
      } finally {
        current = parent;
      }
    },
    it(name, body, timeout) {
      current.children.push({ kind: 'test', name, body, timeout });
    },
    beforeAll(body, timeout) {
      current.beforeAll.push({ body, timeout });
    },
    afterAll(body, timeout) {
      current.afterAll.push({ body, timeout });
    },
  });
  return root;
}

/** How many tests a block holds, nested ones included. */
export function countTests(block: CollectedBlock): number {
  return block.children.reduce((total, child) => total + (child.kind === 'test' ? 1 : countTests(child)), 0);
}
