import { describe, expect, it } from 'vitest';
import { IssueList } from '../config/errors.js';
import { ApiKeyTable, sha256Hex } from './keys.js';

function table(): ApiKeyTable {
  const issues = new IssueList();
  const t = ApiKeyTable.compile([
    { name: 'ops', role: 'admin', sha256: sha256Hex('k-admin-1') },
    { name: 'billing', role: 'agent', agent_id: 'billing-agent', sha256: sha256Hex('k-billing-2') },
  ] as Parameters<typeof ApiKeyTable.compile>[0], issues);
  expect(issues.items).toEqual([]);
  return t;
}

describe('ApiKeyTable.authenticate', () => {
  it('finds each key the first time and every time after (the remembered bytes)', () => {
    const t = table();
    for (let i = 0; i < 3; i++) {
      expect(t.authenticate('k-admin-1')?.name).toBe('ops');
      expect(t.authenticate('k-billing-2')?.name).toBe('billing');
    }
  });

  it('refuses near misses, before and after the right key was seen', () => {
    const t = table();
    const misses = ['k-admin-2', 'k-admin-', 'k-admin-11', 'K-admin-1', 'k-billing-2 ', '', undefined];
    for (const k of misses) expect(t.authenticate(k)).toBeUndefined();
    expect(t.authenticate('k-admin-1')?.name).toBe('ops');
    for (const k of misses) expect(t.authenticate(k)).toBeUndefined();
    expect(t.authenticate('k-billing-2')?.name).toBe('billing');
  });

  it('a reloaded table (a new compile) remembers nothing of the old one', () => {
    const t = table();
    expect(t.authenticate('k-admin-1')?.name).toBe('ops');
    const issues = new IssueList();
    const rotated = ApiKeyTable.compile([{ name: 'ops', role: 'admin', sha256: sha256Hex('k-admin-new') }] as Parameters<typeof ApiKeyTable.compile>[0], issues);
    expect(rotated.authenticate('k-admin-1')).toBeUndefined();
    expect(rotated.authenticate('k-admin-new')?.name).toBe('ops');
  });
});
