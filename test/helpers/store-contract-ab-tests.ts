/** The store contract, part 4: A/B tests made through the API (stored once by name, read back oldest first). */
import { describe, expect, it } from 'vitest';
import type { AbTestRecord } from '../../src/approvals/store/ab-test-store.js';
import { T, type StoreContext } from './store-contract-kit.js';

const abTest = (name: string, over: Partial<AbTestRecord> = {}): AbTestRecord => ({
  name, control_policy: 'pol_a', test_policy: 'pol_b', traffic_split: 12.5, duration_days: 0.5, start: T, shadow: false, created_at: T, ...over,
});

export function abTestsContract(name: string, { newStore }: StoreContext): void {
  describe(`${name}: A/B tests`, () => {
    it('reads tests back as written, oldest first, across a reopen', async () => {
      const place = `ab-${Math.random().toString(36).slice(2)}`;
      const s = await newStore(place);
      expect(await s.listAbTests()).toEqual([]);
      expect(await s.createAbTest(abTest('later', { created_at: T + 5, shadow: true, start: T + 86_400_000 }))).toBe(true);
      expect(await s.createAbTest(abTest('first'))).toBe(true);
      const want = [abTest('first'), abTest('later', { created_at: T + 5, shadow: true, start: T + 86_400_000 })];
      expect(await s.listAbTests()).toEqual(want);
      await s.close();
      expect(await (await newStore(place)).listAbTests()).toEqual(want);
    });

    it('keeps the first test of a name and refuses a second', async () => {
      const s = await newStore();
      expect(await s.createAbTest(abTest('t'))).toBe(true);
      expect(await s.createAbTest(abTest('t', { test_policy: 'pol_c', traffic_split: 90 }))).toBe(false);
      expect(await s.listAbTests()).toEqual([abTest('t')]);
    });
  });
}
