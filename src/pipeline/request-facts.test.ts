/**
 * The request facts a gateway key is told (api/routes/submit.ts): built once per config and
 * control-plane answer, not on every submit — and rebuilt when either changes.
 */
import pino from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { runtimeFromText } from '../config/runtime.js';
import type { RemoteControl } from '../evaluator/remote.js';
import { Metrics } from '../observability/metrics.js';
import { CheckPipeline } from './check.js';
import { RuntimeState } from './state.js';

const config = (header: string) => `
policies:
  - {id: pol_tenant, conditions: {action_type: orders.read, request.headers.${header}: blocked}, action: deny}
  - {id: pol_method, conditions: {action_type: orders.read, request.method: DELETE}, action: deny}
`;

function setup() {
  const state = new RuntimeState(runtimeFromText(config('X-Tenant'), 'a.yaml', 1));
  const current = { requestFacts: [] as readonly string[] };
  const remote = { current } as unknown as RemoteControl;
  const p = new CheckPipeline({ state, metrics: new Metrics(new Registry(), () => 0, { defaultMetrics: false }), sinks: [], logger: pino({ level: 'silent' }), remote });
  return { state, current, p };
}

describe('CheckPipeline.requestFacts', () => {
  it('is built once while neither the config nor the control plane changes what it reads', () => {
    const { current, p } = setup();
    const first = p.requestFacts();
    expect(first).toEqual({ names: ['headers.x-tenant', 'method'], header: 'headers.x-tenant,method' });
    expect(p.requestFacts()).toBe(first);
    current.requestFacts = ['headers.x-region', 'method'];
    const merged = p.requestFacts();
    expect(merged).toEqual({ names: ['headers.x-region', 'headers.x-tenant', 'method'], header: 'headers.x-region,headers.x-tenant,method' });
    expect(p.requestFacts()).toBe(merged);
  });

  it('follows a config swap', () => {
    const { state, p } = setup();
    const before = p.requestFacts();
    state.swap(runtimeFromText(config('X-Org'), 'b.yaml', 2));
    expect(p.requestFacts()).not.toBe(before);
    expect(p.requestFacts().header).toBe('headers.x-org,method');
    state.swap(runtimeFromText('policies: []\n', 'c.yaml', 3));
    expect(p.requestFacts()).toEqual({ names: [], header: 'none' });
  });
});
