/**
 * Notification formats end to end: a real sidecar (real SQLite, real gRPC check) delivers one
 * pending action to four subscriptions of a real local receiver, one per format, each signed
 * like every delivery. Slack and Teams receive their message shapes with a link to the console
 * under api.public_url; ServiceNow receives an incident at its Table API path, with the url's
 * credentials as HTTP Basic auth (never in the url sent); the default is the ascend envelope.
 * Subscriptions made through the API choose their format too (validated, changeable).
 * (Slack, Teams and ServiceNow themselves cannot run here: the receiver stands in for them.)
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from './helpers/app.js';
import { call, KEYS, storeConfig } from './helpers/api.js';
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
    const extra = `api: {public_url: "https://ascend.example.com", allow_private_webhook_targets: true}
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

  it('a subscription made through the API is delivered in its format; a bad format is a 400 naming the field', async () => {
    const base = t.url('');
    const bad = await call(base, 'POST', '/api/webhooks/configure', KEYS.admin, { url: `${receiver.url}/api-hook`, events: ['action.pending'], format: 'pagerduty' });
    expect([bad.status, bad.body.error.code, bad.body.error.field]).toEqual([400, 'invalid_request', 'format']);
    expect(bad.body.error.message).toBe('body.format: must be one of ascend, slack, teams, servicenow');
    const made = await call(base, 'POST', '/api/webhooks/configure', KEYS.admin, { url: `${receiver.url}/api-hook`, events: ['action.pending'], secret: SECRET, format: 'slack' });
    expect([made.status, made.body.format]).toEqual([201, 'slack']);
    const id = made.body.webhook_id as string;
    expect((await call(base, 'GET', '/api/webhooks', KEYS.admin)).body.webhooks.find((w: { id: string }) => w.id === id)?.format).toBe('slack');

    const hooked = () => receiver.received.filter((x) => x.path === '/api-hook');
    const pending = async (ref: string) => {
      const before = hooked().length;
      const r = await authz.check({ method: 'POST', path: `/v1/refunds/${ref}?amount=5000`, headers: { 'x-agent-id': 'billing-agent' } });
      expect(decisionOf(r)).toBe('pending');
      await waitFor(() => hooked().length > before, { timeoutMs: 10_000 });
      const got = hooked().at(-1)!;
      expect(got.verified.ok).toBe(true);
      return { body: JSON.parse(got.body), link: `https://ascend.example.com/console#/actions/${header(r, 'x-ascend-action-id')}` };
    };
    const slack = await pending('f-api-1');
    expect(slack.body.text).toContain('Approval needed: payments.refund on refund/f-api-1 by billing-agent');
    expect(slack.body.blocks.find((b: { type: string }) => b.type === 'actions').elements[0].url).toBe(slack.link);

    const changed = await call(base, 'PUT', `/api/webhooks/${id}`, KEYS.admin, { format: 'teams' });
    expect([changed.status, changed.body.format]).toEqual([200, 'teams']);
    const teams = await pending('f-api-2');
    expect(teams.body.attachments[0].content.type).toBe('AdaptiveCard');

    const c = new ConsoleClient(t.url(''));
    await c.login(KEYS.viewer);
    const listed = (await c.request('GET', '/webhooks')).body.subscriptions.find((w: { webhook_id: string }) => w.webhook_id === id);
    expect([listed.format, listed.source]).toEqual(['teams', 'api']);
  });
});
