import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  ApprovalsConfigSchema, StoreConfigSchema, WebhookDeliverySchema, WebhookSubscriptionSchema, WorkflowsSchema,
  approvalSettings, resolveWorkflow,
} from './config.js';

const ajv = new Ajv({ useDefaults: true, allErrors: true });
const check = (schema: object, value: unknown) => {
  const validate = ajv.compile(schema);
  return validate(value) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
};

// The issue 4 contract, as written.
const contract = parse(`
store: {path: ./data/ascend.db}
webhooks:
  - {url: "http://127.0.0.1:9999/hooks", events: [action.pending, action.approved, action.denied], secret: "s3cret"}
approvals: {grant: single_use}
workflows:
  big-spend:
    steps:
      - {approvers: [team-lead], required: 1, timeout_hours: 4}
      - {approvers: [finance-manager], required: 2, timeout_hours: 24}
    escalation: {timeout_action: escalate, escalation_approvers: [cfo]}
`) as Record<string, unknown>;

describe('config fragments', () => {
  it('accept the contract config and fill defaults', () => {
    const store = contract.store as Record<string, unknown>;
    expect(check(StoreConfigSchema, store)).toEqual([]);
    expect(store).toEqual({
      path: './data/ascend.db', synchronous: 'full', audit_retention_days: 30, audit_buffer_rows: 100_000,
      pool_max: 10, statement_timeout_ms: 2000, schema: 'ascend', // read only by driver: postgres
    });
    for (const sub of contract.webhooks as unknown[]) expect(check(WebhookSubscriptionSchema, sub)).toEqual([]);
    expect(check(ApprovalsConfigSchema, contract.approvals)).toEqual([]);
    expect(check(WorkflowsSchema, contract.workflows)).toEqual([]);
    const delivery = {};
    expect(check(WebhookDeliverySchema, delivery)).toEqual([]);
    expect(delivery).toEqual({ max_attempts: 8, initial_backoff_ms: 1000, max_backoff_ms: 300_000, timeout_ms: 10_000 });
  });

  it('name the bad field', () => {
    expect(check(WebhookSubscriptionSchema, { url: 'ftp://x', events: ['action.exploded'], secret: '' })).toEqual(expect.arrayContaining([
      '/url must match pattern "^https?://"', '/secret must NOT have fewer than 1 characters',
    ]));
    expect(check(ApprovalsConfigSchema, { grant: 'forever' }).join()).toMatch(/\/grant/);
    expect(check(WorkflowsSchema, { w: { steps: [{ approvers: [], required: 0 }] } })).toEqual(expect.arrayContaining([
      '/w/steps/0/approvers must NOT have fewer than 1 items', '/w/steps/0/required must be >= 1',
    ]));
  });

  it.each([
    [{}, { grant: 'single_use', ttl_seconds: 86_400, denial_ttl_seconds: 86_400, default_timeout_hours: 24 }],
    [{ grant: 'ttl' as const }, { grant: 'ttl', ttl_seconds: 600 }],
    [{ grant: 'ttl' as const, ttl_seconds: 60 }, { grant: 'ttl', ttl_seconds: 60 }],
  ])('approvalSettings(%j)', (input, want) => {
    expect(approvalSettings(input)).toMatchObject(want);
  });
});

describe('resolveWorkflow', () => {
  const workflows = { 'big-spend': { steps: [{ approvers: ['a'], required: 1, timeout_hours: 1 }] } };
  it('turns plain approvers into one step with the default timeout', () => {
    expect(resolveWorkflow({ approvers: ['finance-manager'] }, workflows, 24)).toEqual({
      steps: [{ approvers: ['finance-manager'], required: 1, timeout_hours: 24 }],
    });
  });
  it('looks up named workflows and keeps the name', () => {
    expect(resolveWorkflow({ workflow: 'big-spend' }, workflows, 24)).toMatchObject({ name: 'big-spend', steps: [{ approvers: ['a'] }] });
  });
  it.each([
    [{ workflow: 'nope' }, 'workflow: no workflow named "nope"'],
    [{}, 'approvers: a require_approval policy needs approvers or a workflow'],
    [{ workflow: { steps: [{ approvers: ['a'], required: 1, timeout_hours: 1 }], escalation: { timeout_action: 'escalate' as const } } },
      'workflow: escalation.escalation_approvers: required when timeout_action is escalate'],
  ])('rejects %j', (policy, message) => {
    expect(() => resolveWorkflow(policy, workflows, 24)).toThrow(message);
  });
});
