/** Config additions of issue 4: every bad field named with its path, resolved once at load. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runtimeFromText } from '../config/runtime.js';
import { configIssues as issues } from '../../test/helpers/config.js';

const CORE = readFileSync(new URL('../../examples/quickstart.yaml', import.meta.url), 'utf8');
const HEX = 'a'.repeat(64);

describe('issue 4 config', () => {
  it('loads the contract keys as written, with their defaults', () => {
    const rt = runtimeFromText(`${CORE}
store: {path: ./data/ascend.db}
api_keys:
  - {name: ops, role: admin, sha256: "${HEX}"}
  - {name: finance, role: approver, groups: [finance-manager], sha256: "${'b'.repeat(64)}"}
  - {name: billing, role: agent, agent_id: billing-agent, sha256: "${'c'.repeat(64)}"}
  - {name: audit, role: viewer, sha256: "${'d'.repeat(64)}"}
webhooks:
  - {url: "http://127.0.0.1:9999/hooks", events: [action.pending, action.approved, action.denied], secret: "s3cret"}
approvals: {grant: ttl, ttl_seconds: 600}
`, 'c.yaml', 1);
    expect(rt.config.store).toEqual({
      path: './data/ascend.db', synchronous: 'full', audit_retention_days: 30, audit_buffer_rows: 100_000,
      pool_max: 10, statement_timeout_ms: 2000, schema: 'ascend', // read only by driver: postgres
    });
    expect(rt.approvalSettings).toEqual({
      grant: 'ttl', ttl_seconds: 600, denial_ttl_seconds: 86_400, default_timeout_hours: 24, max_pending_per_agent: 100, max_pending_total: 10_000,
      separation_of_duties: true,
    });
    expect(rt.config.api).toEqual({ batch_max: 100, page_max: 200, environment: 'production', allow_plaintext: false, allow_private_webhook_targets: false });
    expect(rt.config.audit_stream).toEqual({ enabled: false });
    expect(rt.config.alerts).toEqual({ cooldown_seconds: 300, max_agents: 10_000 });
    expect(rt.apiKeys.size).toBe(4);
    expect(rt.workflows.get('pol_refund_large')).toEqual({ steps: [{ approvers: ['finance-manager'], required: 1, timeout_hours: 24 }] });
  });

  it('the core contract config needs none of it', () => {
    const rt = runtimeFromText(CORE, 'c.yaml', 1);
    expect(rt.config.store).toBeUndefined();
    expect(rt.apiKeys.size).toBe(0);
    expect(rt.approvalSettings).toMatchObject({ max_pending_per_agent: 100, max_pending_total: 10_000 });
  });

  it('caps pending approvals with positive integers', () => {
    const rt = runtimeFromText(`${CORE}\napprovals: {max_pending_per_agent: 5, max_pending_total: 50}\n`, 'c.yaml', 1);
    expect(rt.approvalSettings).toMatchObject({ max_pending_per_agent: 5, max_pending_total: 50 });
    expect(issues(`${CORE}\napprovals: {max_pending_per_agent: 0, max_pending_total: 1.5}\n`).map((i) => i.replace(/^line \d+:\d+: /, ''))).toEqual([
      'approvals.max_pending_per_agent: must be >= 1',
      'approvals.max_pending_total: must be integer',
    ]);
  });

  it('resolves named workflows and names every problem with its path', () => {
    const named = CORE.replace('approvers: [finance-manager]', 'workflow: big');
    const rt = runtimeFromText(`${named}\nworkflows:\n  big: {steps: [{approvers: [lead], timeout_hours: 2}], escalation: {timeout_action: approve}}\n`, 'c.yaml', 1);
    expect(rt.workflows.get('pol_refund_large')).toMatchObject({ name: 'big', steps: [{ approvers: ['lead'], required: 1, timeout_hours: 2 }] });
    expect(issues(named)).toEqual([expect.stringMatching(/^line \d+:\d+: policies\[1\]\.workflow: no workflow named "big"$/)]);
    expect(issues(`${named}\nworkflows:\n  big: {steps: [{approvers: [lead]}], escalation: {timeout_action: escalate}}\n`)).toEqual([
      expect.stringMatching(/^line \d+:\d+: workflows\.big\.escalation\.escalation_approvers: required when timeout_action is escalate$/),
    ]);
  });

  it('rejects duplicate webhook urls and inconsistent api keys', () => {
    const hook = '{url: "http://h/x", events: ["*"], secret: s}';
    expect(issues(`${CORE}\nwebhooks: [${hook}, ${hook}]\n`)).toEqual([expect.stringContaining('webhooks[1].url: duplicate webhook url http://h/… (the same as webhooks[0].url')]);
    expect(issues(`${CORE}
api_keys:
  - {name: a, role: agent, sha256: "${HEX}"}
  - {name: a, role: approver, sha256: "${HEX}"}
  - {name: v, role: viewer, agent_id: x, sha256: "${'e'.repeat(64)}"}
  - {name: w, role: owner, sha256: "nothex"}
`).map((i) => i.replace(/^line \d+:\d+: /, ''))).toEqual([
      'api_keys[3].role: must be one of: admin, approver, agent, viewer, gateway',
      'api_keys[3].sha256: must match pattern "^[0-9a-f]{64}$"',
    ]);
    expect(issues(`${CORE}
api_keys:
  - {name: a, role: agent, sha256: "${HEX}"}
  - {name: a, role: approver, sha256: "${HEX}"}
  - {name: v, role: viewer, agent_id: x, sha256: "${'e'.repeat(64)}"}
`).map((i) => i.replace(/^line \d+:\d+: /, ''))).toEqual([
      'api_keys[0].agent_id: an agent key must name its agent_id',
      'api_keys[1].name: duplicate api key name "a"',
      'api_keys[1].sha256: the same key is configured twice',
      'api_keys[1].groups: an approver key needs its approver groups',
      'api_keys[2].agent_id: only agent keys take an agent_id',
    ]);
  });
});
