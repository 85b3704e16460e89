import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SqliteStore } from '../approvals/store/sqlite/sqlite-store.js';
import { auditRow, pendingApproval } from '../../test/helpers/records.js';
import { approveTransition } from '../../test/helpers/store-contract-kit.js';
import { tempDir } from '../../test/helpers/tmp.js';
import { buildBrief, percentile } from './brief.js';
import { briefHtml } from './html.js';
import { briefMarkdown } from './markdown.js';

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 0, 5); // a Monday, 00:00 UTC
const store = new SqliteStore({ path: join(tempDir('ascend-brief-'), 'b.db') });
afterAll(() => store.close());

describe('percentile', () => {
  it('is the nearest rank', () => {
    const xs = Array.from({ length: 100 }, (_, i) => i + 1);
    expect([percentile(xs, 50), percentile(xs, 90), percentile(xs, 99), percentile(xs, 100)]).toEqual([50, 90, 99, 100]);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([], 50)).toBeNull();
  });
});

describe('buildBrief on a real SQLite store', () => {
  it('counts per agent, policy and day, times approvals and lists kill-switch events, within the period only', async () => {
    await store.appendAudit([
      auditRow({ ts: T0 + 1000, agent_id: 'a1', decision: 'allowed', policy_id: 'p_allow', risk_score: 10 }),
      auditRow({ ts: T0 + 2000, agent_id: 'a1', decision: 'denied', policy_id: 'p_deny', risk_score: 80 }),
      auditRow({ ts: T0 + DAY + 5, agent_id: 'a2', decision: 'allowed', policy_id: 'p_deny', risk_score: 40, reason: 'monitor mode: denied by p_deny' }),
      auditRow({ ts: T0 + DAY + 6, agent_id: 'a2', decision: 'pending', policy_id: 'p_appr', risk_score: 70 }),
      auditRow({ ts: T0 + DAY + 7, event_type: 'agent.blocked', agent_id: 'a2', decision: 'denied', actor: 'ops', reason: 'runaway', policy_id: null }),
      auditRow({ ts: T0 - 1, agent_id: 'old', decision: 'denied' }), // before the period
      auditRow({ ts: T0 + 3 * DAY, agent_id: 'late', decision: 'denied' }), // after it
    ]);
    // Three approvals decided after 60 s, 120 s and 600 s; one still pending.
    for (const [i, wait] of [[1, 60], [2, 120], [3, 600]] as const) {
      const { approval } = await store.createPendingApproval(pendingApproval({ now: T0 + i * 1000, agent_id: 'a1' })) as { approval: Parameters<typeof approveTransition>[0] };
      const r = await store.transitionApproval(approveTransition(approval, 'fred', T0 + i * 1000 + wait * 1000));
      expect(r.ok).toBe(true);
    }
    await store.createPendingApproval(pendingApproval({ now: T0 + 9000, agent_id: 'a2' }));
    const b = await buildBrief(store, { since: T0, until: T0 + 2 * DAY, policyNames: new Map([['p_deny', 'No deletes']]) });
    expect(b.since).toBe('2026-01-05T00:00:00.000Z');
    expect(b.posture).toMatchObject({ decisions: 4, allowed: 2, denied: 1, pending: 1, deny_rate: 0.25, high_risk: 2, monitor_would_deny: 1, pending_approvals_now: 1, kill_switch_events: 1, truncated: false });
    expect(b.agents.map((a) => [a.agent_id, a.total, a.allowed, a.denied, a.pending, a.approvals.approved])).toEqual([['a1', 2, 1, 1, 0, 3], ['a2', 2, 1, 0, 1, 0]]);
    expect(b.policies.find((p) => p.policy_id === 'p_deny')).toMatchObject({ name: 'No deletes', total: 2, denied: 1, allowed: 1, monitor_would_deny: 1 });
    expect(b.approvals).toMatchObject({ requested: 4, approved: 3, pending: 1, time_to_decision_seconds: { count: 3, p50: 120, p90: 600, p99: 600, max: 600 } });
    expect(b.risk_trend).toEqual([
      { date: '2026-01-05', decisions: 2, average_risk: 45, max_risk: 80, high_risk: 1 },
      { date: '2026-01-06', decisions: 2, average_risk: 55, max_risk: 70, high_risk: 1 },
    ]);
    expect(b.kill_switch).toEqual([{ time: new Date(T0 + DAY + 7).toISOString(), event: 'agent.blocked', agent_id: 'a2', actor: 'ops', reason: 'runaway' }]);
  });

  it("counts monitor mode's would-denies per policy: the policy's own mode, global mode, and rows from before details", async () => {
    const s = new SqliteStore({ path: join(tempDir('ascend-brief-monitor-'), 'b.db') });
    try {
      const watched = (would_be: string) => ({ monitor: { policy_id: 'p_watch', would_be, mode: 'policy' } });
      await s.appendAudit([
        // p_watch (its own mode: monitor) would have denied twice and held once; p_allow decided.
        auditRow({ ts: T0 + 1, decision: 'allowed', policy_id: 'p_allow', details: watched('denied') }),
        auditRow({ ts: T0 + 2, decision: 'allowed', policy_id: 'p_allow', details: watched('denied') }),
        auditRow({ ts: T0 + 3, decision: 'allowed', policy_id: null, details: watched('pending') }),
        // Global mode: monitor let p_deny's denial through (recorded, and an older row by its reason only).
        auditRow({ ts: T0 + 4, decision: 'allowed', policy_id: 'p_deny', reason: 'monitor mode: denied by p_deny', details: { monitor: { policy_id: 'p_deny', would_be: 'denied', mode: 'global' } } }),
        auditRow({ ts: T0 + 5, decision: 'allowed', policy_id: 'p_deny', reason: 'monitor mode: denied by p_deny', details: null }),
        // The default decision under global monitor mode; and a monitor hit that changed nothing to stop.
        auditRow({ ts: T0 + 6, decision: 'allowed', policy_id: null, reason: 'monitor mode: no policy matched', details: { monitor: { policy_id: null, would_be: 'denied', mode: 'global' } } }),
        auditRow({ ts: T0 + 7, decision: 'denied', policy_id: 'p_deny', details: watched('allowed') }),
      ]);
      const b = await buildBrief(s, { since: T0, until: T0 + DAY, policyNames: new Map([['p_watch', 'Watched refunds']]) });
      expect(b.posture.monitor_would_deny).toBe(6);
      expect(b.monitor).toEqual([
        { policy_id: 'p_watch', name: 'Watched refunds', mode: 'policy', would_deny: 2, would_hold: 1 },
        { policy_id: 'p_deny', name: null, mode: 'global', would_deny: 2, would_hold: 0 },
        { policy_id: null, name: null, mode: 'global', would_deny: 1, would_hold: 0 },
      ]);
      // A monitor-mode policy decides nothing, yet is listed with its would-denies.
      expect(b.policies.find((p) => p.policy_id === 'p_watch')).toMatchObject({ name: 'Watched refunds', total: 0, monitor_would_deny: 3 });
      expect(b.policies.find((p) => p.policy_id === 'p_deny')).toMatchObject({ total: 3, allowed: 2, denied: 1, monitor_would_deny: 2 });
      const md = briefMarkdown(b);
      expect(md).toContain("| p_watch | Watched refunds | the policy's own | 2 | 1 |");
      expect(md).toContain('| (default decision) | — | global (mode: monitor) | 1 | 0 |');
      expect(briefHtml(b)).toContain('<td>p_watch</td><td>Watched refunds</td><td>the policy&#39;s own</td><td>2</td><td>1</td>');
    } finally {
      await s.close();
    }
  });

  it("reads the decided approvals' actions in one store call, not one each", async () => {
    const s = new SqliteStore({ path: join(tempDir('ascend-brief-batch-'), 'b.db') });
    try {
      for (const [i, agent] of ['a1', 'a2', 'a1', 'a3', 'a1'].entries()) {
        const { approval } = await s.createPendingApproval(pendingApproval({ now: T0 + i * 1000, agent_id: agent })) as { approval: Parameters<typeof approveTransition>[0] };
        expect((await s.transitionApproval(approveTransition(approval, 'fred', T0 + i * 1000 + 60_000))).ok).toBe(true);
      }
      const calls: string[] = [];
      const counted = new Proxy(s, {
        get(target, prop, receiver) {
          const v = Reflect.get(target, prop, receiver) as unknown;
          if (typeof v !== 'function') return v;
          return (...args: unknown[]) => { calls.push(String(prop)); return (v as (...a: unknown[]) => unknown).apply(target, args); };
        },
      });
      const b = await buildBrief(counted, { since: T0, until: T0 + DAY });
      expect(b.agents.map((a) => [a.agent_id, a.approvals.approved])).toEqual([['a1', 3], ['a2', 1], ['a3', 1]]);
      expect(calls.filter((c) => c.startsWith('getAction'))).toEqual(['getActions']);
    } finally {
      await s.close();
    }
  });

  it('renders HTML as one file with inline SVG and nothing that loads or runs, and escapes agent text', async () => {
    await store.appendAudit([auditRow({ ts: T0 + 10, event_type: 'agent.blocked', agent_id: 'a3', decision: 'denied', actor: 'ops', reason: '<script>alert(1)</script><img src=x onerror=alert(2)>', policy_id: null })]);
    const b = await buildBrief(store, { since: T0, until: T0 + 2 * DAY });
    const html = briefHtml(b);
    expect(html).toMatch(/^<!doctype html>/);
    expect((html.match(/<svg /g) ?? []).length).toBe(2);
    expect(html).not.toMatch(/<script|<img|<link|<iframe|\s(src|href)=["']|@import|url\(/i);
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    const md = briefMarkdown(b);
    expect(md).toContain('## Risk trend');
    expect(md).not.toContain('<script>');
  });
});
