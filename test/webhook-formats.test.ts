/**
 * Notification formats end to end: a real sidecar (real SQLite, real gRPC check) delivers one
 * pending action to four subscriptions of a real local receiver, one per format, each signed
 * like every delivery. Slack and Teams receive their message shapes with a link to the console
 * under api.public_url; ServiceNow receives an incident at its Table API path, with the url's
 * credentials as HTTP Basic auth (never in the url sent); the default is the ascend envelope.
 * (Slack, Teams and ServiceNow themselves cannot run here: the receiver stands in for them.)
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from './helpers/app.js';
import { KEYS, storeConfig } from './helpers/api.js';
import { ConsoleClient } from './helpers/console.js';
import { AuthzClient, decisionOf, header } from './helpers/grpc-client.js';
import { startReceiver, type Receiver } from './helpers/receiver.js';
import { tempDir } from './helpers/tmp.js';
import { waitFor } from './helpers/wait.js';

const CORE = readFileSync(new URL('../examples/quickstart.yaml', import.meta.url), 'utf8');
const SECRET = 'formats-secret';

describe('webhook notification formats against a local receiver', () => {
  let receiver: Receiver;
  let t: TestApp;
  let authz: AuthzClient;
  beforeAll(async () => {
    receiver = await startReceiver(SECRET);
    const dir = join(tempDir('ascend-formats-'), 'app');
    mkdirSync(dir, { recursive: true });
    const creds = receiver.url.replace('http://', 'http://sn.integration:p%40ss@');
    const extra = `api: {public_url: "https://ascend.example.com"}
webhooks:
  - {url: "${receiver.url}/ascend", events: ["action.pending"], secret: ${SECRET}}
  - {url: "${receiver.url}/slack", events: ["action.pending"], secret: ${SECRET}, format: slack}
  - {url: "${receiver.url}/teams", events: ["action.pending"], secret: ${SECRET}, format: teams}
  - {url: "${creds}/api/now/table/incident", events: ["action.pending"], secret: ${SECRET}, format: servicenow}`;
    t = await startApp(storeConfig(dir, CORE, extra), { dir });
    authz = new AuthzClient(t.grpcPort);
  });
  afterAll(async () => { authz.close(); await t.close(); await receiver.close(); });

  it('delivers one pending action in each subscription\'s format, every one signed', async () => {
    const r = await authz.check({ method: 'POST', path: '/v1/refunds/f-1?amount=5000', headers: { 'x-agent-id': 'billing-agent' } });
    expect(decisionOf(r)).toBe('pending');
    const actionId = header(r, 'x-ascend-action-id');
    await waitFor(() => receiver.received.length >= 4, { timeoutMs: 10_000 });
    const at = (path: string) => receiver.received.find((x) => x.path === path);
    for (const p of ['/ascend', '/slack', '/teams', '/api/now/table/incident']) {
      expect(at(p)?.verified.ok, p).toBe(true);
      expect(at(p)?.status, p).toBe(200);
    }
    const eventId = at('/ascend')?.headers['x-event-id'];
    for (const p of ['/slack', '/teams', '/api/now/table/incident']) expect(at(p)?.headers['x-event-id'], p).toBe(eventId);
    const link = `https://ascend.example.com/console#/actions/${actionId}`;

    const envelope = JSON.parse(at('/ascend')!.body);
    expect(envelope).toMatchObject({ event: 'action.pending', data: { action_id: actionId, agent_id: 'billing-agent' } });

    const slack = JSON.parse(at('/slack')!.body);
    expect(slack.text).toContain('Approval needed: payments.refund on refund/f-1 by billing-agent');
    expect(slack.blocks.find((b: { type: string }) => b.type === 'actions').elements[0].url).toBe(link);

    const teams = JSON.parse(at('/teams')!.body);
    const card = teams.attachments[0].content;
    expect(card.type).toBe('AdaptiveCard');
    expect(card.actions[0]).toMatchObject({ type: 'Action.OpenUrl', url: link });
    expect(card.body[1].facts).toContainEqual({ title: 'Policy', value: 'pol\\_refund\\_large' });

    const sn = at('/api/now/table/incident')!;
    expect(sn.headers.authorization).toBe(`Basic ${Buffer.from('sn.integration:p@ss').toString('base64')}`);
    const incident = JSON.parse(sn.body);
    expect(incident).toMatchObject({ correlation_id: eventId, category: 'security', urgency: '2' });
    expect(incident.description).toContain(`Console: ${link}`);
  });

  it('the console lists each subscription with its format, the credentials masked', async () => {
    const c = new ConsoleClient(t.url(''));
    await c.login(KEYS.admin);
    const r = await c.request('GET', '/webhooks');
    expect(r.body.subscriptions.map((s: { format: string }) => s.format)).toEqual(['ascend', 'slack', 'teams', 'servicenow']);
    expect(JSON.stringify(r.body)).not.toContain('p%40ss');
    expect(JSON.stringify(r.body)).not.toContain(SECRET);
  });
});
