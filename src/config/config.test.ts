import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configIssues } from '../../test/helpers/config.js';
import { runtimeFromText } from './runtime.js';

const CONTRACT = readFileSync(new URL('../../examples/quickstart.yaml', import.meta.url), 'utf8');

function issues(text: string): string[] {
  const found = configIssues(text);
  if (found.length === 0) throw new Error('expected the config to be rejected');
  return found;
}

describe('config', () => {
  it('loads the core contract config with its documented values and defaults', () => {
    const rt = runtimeFromText(CONTRACT, 'core.yaml', 1);
    expect(rt.config.server).toMatchObject({ grpc_port: 9191, http_port: 8181 });
    expect(rt.config.default_decision).toBe('deny');
    expect(rt.config.fail_mode).toBe('closed');
    expect(rt.config.cache).toEqual({ enabled: true, ttl_ms: 5000, max_entries: 100000 });
    expect(rt.engine.policies.map((p) => p.id)).toEqual(['pol_admin_deny', 'pol_refund_large', 'pol_refund_small', 'pol_orders_read']);
    expect(rt.config.responses).toEqual({ denied_status: 403, pending_status: 403, retry_after_seconds: 30, unavailable_status: 503 });
    expect(rt.config.mode).toBe('enforce');
  });

  it('an empty mapping is a valid config that denies everything', () => {
    const rt = runtimeFromText('{}', 'empty.yaml', 1);
    expect(rt.config.default_decision).toBe('deny');
  });

  it.each<[string, string]>([
    ['server: {grpc_port: 70000}', 'line 1:21: server.grpc_port: must be <= 65535'],
    ['fail_mode: sometimes', 'line 1:12: fail_mode: must be one of: closed, open'],
    ['cache: {ttl: 5}', 'cache.ttl: unknown field'],
    ['polices: []', 'polices: unknown field'],
    ['policies:\n  - {id: a, action: allow}\n  - {id: b, action: nope}', 'line 3:21: policies[1].action: must be one of: allow, deny, require_approval, flag'],
    ['policies:\n  - {id: a, action: allow}\n  - {id: a, action: deny}', 'line 3:10: policies[1].id: duplicate policy id "a"'],
    ['policies:\n  - {id: a, action: require_approval}', 'policies[0].approvers: a require_approval policy needs approvers or a workflow'],
    ['policies:\n  - id: a\n    action: deny\n    conditions: {parameters.amount: {gtt: 5}}', 'line 4:43: policies[0].conditions["parameters.amount"].gtt: unknown operator'],
    ['policies:\n  - id: a\n    action: deny\n    conditions: {agent.colour: red}', 'policies[0].conditions["agent.colour"]: unknown agent field'],
    ['policies:\n  - id: a\n    action: deny\n    conditions: {resource: {regex: "(a+)+\\\\1"}}', 'regex is not valid RE2'],
    ['routes:\n  - {match: {path: "v1/x"}, action_type: a}', 'routes[0].match.path: path must start with "/"'],
    ['routes:\n  - {match: {path: "/v1/{id}"}, action_type: a, resource: "{idd}"}', 'routes[0].resource: unknown placeholder {idd}'],
    ['identity: {sources: [{header: x, principal: {}}]}', 'identity.sources[0]: each source needs exactly one of header, jwt_claim, principal'],
    ['agents: [{id: a}]', 'agents[0].type: is required'],
    // Maps (config/map-of.ts): every key's value is checked, a line break in the key or not.
    ['risk: {environments: {"staging\\nx": 1.5}}', 'line 1:37: risk.environments["staging\\nx"]: must be integer'],
    ['{"risk": {"agent_types": {"x\\r": "high"}}}', 'line 1:34: risk.agent_types["x\\r"]: must be integer'],
    ['risk: {agent_types: {"a\\u2028b": 2.5}}', 'risk.agent_types["a\u2028b"]: must be integer'],
    ['workflows: {"a\\nb": {steps: 5}}', 'workflows["a\\nb"].steps: must be array'],
    ['tracing: {headers: {"X-Token\\n": 5}}', 'tracing.headers["X-Token\\n"]: must be string'],
    // …and a key its map's key schema refuses is named.
    ['tracing: {headers: {"bad key": "v"}}', 'line 1:32: tracing.headers["bad key"]: key must match pattern "^[A-Za-z0-9-]+$"'],
    ['workflows: {"": {steps: [{approvers: [a]}]}}', 'workflows[""]: key must NOT have fewer than 1 characters'],
    ['a: [1\n', 'YAML syntax'],
    ['- 1\n- 2\n', 'the config must be a YAML mapping'],
  ])('%j is rejected: %s', (text, want) => {
    expect(issues(text).join('\n')).toContain(want);
  });

  it('reports every problem at once', () => {
    expect(issues('fail_mode: x\ncache: {ttl_ms: -1}\npolicies: [{id: a, action: y}]')).toHaveLength(3);
  });
});
