/** The store contract, part 3: console sessions (created, read until expiry, deleted, purged). */
import { describe, expect, it } from 'vitest';
import type { ConsoleSessionRecord } from '../../src/approvals/store/session-store.js';
import { T, type StoreContext } from './store-contract-kit.js';

const session = (digest: string, over: Partial<ConsoleSessionRecord> = {}): ConsoleSessionRecord => ({
  session_digest: digest, key_name: 'fred', csrf_token: `csrf-${digest}`, created_at: T, expires_at: T + 60_000, ...over,
});

export function sessionsContract(name: string, { newStore }: StoreContext): void {
  describe(`${name}: console sessions`, () => {
    it('reads a session back until it expires, never after', async () => {
      const s = await newStore();
      await s.createConsoleSession(session('a'.repeat(64)));
      expect(await s.getConsoleSession('a'.repeat(64), T + 59_999)).toEqual(session('a'.repeat(64)));
      expect(await s.getConsoleSession('a'.repeat(64), T + 60_000)).toBeUndefined();
      expect(await s.getConsoleSession('b'.repeat(64), T)).toBeUndefined();
    });

    it('refuses a second session with the same digest', async () => {
      const s = await newStore();
      await s.createConsoleSession(session('c'.repeat(64)));
      await expect(s.createConsoleSession(session('c'.repeat(64), { key_name: 'mallory' }))).rejects.toThrow();
      expect((await s.getConsoleSession('c'.repeat(64), T))?.key_name).toBe('fred');
    });

    it('deletes one session (logout) and purges the expired ones', async () => {
      const s = await newStore();
      await s.createConsoleSession(session('d'.repeat(64)));
      await s.createConsoleSession(session('e'.repeat(64), { expires_at: T + 10 }));
      await s.createConsoleSession(session('f'.repeat(64), { expires_at: T + 20 }));
      expect(await s.deleteConsoleSession('d'.repeat(64))).toBe(true);
      expect(await s.deleteConsoleSession('d'.repeat(64))).toBe(false);
      expect(await s.getConsoleSession('d'.repeat(64), T)).toBeUndefined();
      expect(await s.purgeConsoleSessions(T + 20)).toBe(2);
      expect(await s.purgeConsoleSessions(T + 20)).toBe(0);
    });
  });
}
