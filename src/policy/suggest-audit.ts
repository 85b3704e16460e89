/**
 * The inputs of policy suggestions that are not the decision log: the store's audit trail
 * (decision rows since a time, paged, newest first, at most `max`) and `--since`-style spans.
 * Rows keep the decision and the policy, not the code; codeOfAuditRow recovers it.
 */
import type { Runtime } from '../config/runtime.js';
import type { Store } from '../approvals/store/store.js';
import { codeOfAuditRow, type Observation } from './suggest.js';

/** `7d`, `12h`, `30m` → milliseconds; undefined for anything else. */
export function parseSince(s: string): number | undefined {
  const m = /^(\d{1,6})([dhm])$/.exec(s);
  if (!m) return undefined;
  return Number(m[1]) * { d: 86_400_000, h: 3_600_000, m: 60_000 }[m[2] as 'd' | 'h' | 'm'];
}

export const MAX_ROWS = 200_000;

export async function readObservations(store: Pick<Store, 'queryAudit'>, rt: Runtime, since: number, max = MAX_ROWS): Promise<Observation[]> {
  const out: Observation[] = [];
  const policies = rt.config.policies;
  let cursor: string | undefined;
  do {
    const page = await store.queryAudit({ limit: 1000, since, ...(cursor ? { cursor } : {}) });
    for (const r of page.items) {
      if (r.action_type === '') continue; // refused before it was an action
      out.push({
        ts: r.ts, agent_id: r.agent_id === '' ? null : r.agent_id, action_type: r.action_type, decision: r.decision,
        code: codeOfAuditRow(r, policies), policy_id: r.policy_id, risk_score: r.risk_score ?? 0,
      });
    }
    cursor = page.next_cursor ?? undefined;
  } while (cursor !== undefined && out.length < max);
  return out;
}

