import { describe, expect, it } from 'vitest';
import type { WebhookEnvelope } from '../types.js';
import { factsOf } from './facts.js';
import { renderPayload } from './index.js';
import { slackEscape } from './slack.js';
import { teamsEscape } from './teams.js';

const HOSTILE = '<!channel> *bold* <https://evil.example|click> & [x](https://evil.example)';
const pending: WebhookEnvelope = {
  id: 'evt_1', event: 'action.pending', created_at: '2026-01-05T09:00:00.000Z',
  data: {
    action_id: 'act_1', approval_id: 'apr_1', agent_id: 'billing-agent', action_type: 'payments.refund', resource: HOSTILE,
    risk_score: 75, policy_id: 'pol_refund_large', status: 'pending', approvers: ['finance-manager'], deadline_at: '2026-01-06T09:00:00.000Z', reason: 'amount over 1000',
  },
};

describe('notification formats', () => {
  it('ascend is the envelope itself, byte for byte', () => {
    expect(renderPayload('ascend', pending, 'https://ascend.example.com')).toBe(JSON.stringify(pending));
  });

  it('links to the console action page under api.public_url, and only with one', () => {
    expect(factsOf(pending, 'https://ascend.example.com/base/').link).toBe('https://ascend.example.com/base/console#/actions/act_1');
    expect(factsOf(pending, undefined).link).toBeUndefined();
    expect(factsOf({ ...pending, data: {} }, 'https://a.example').link).toBeUndefined();
  });

  it('slack: Block Kit with escaped values, a console button and a fallback text', () => {
    const m = JSON.parse(renderPayload('slack', pending, 'https://ascend.example.com'));
    expect(m.text).toContain('Approval needed: payments.refund on &lt;!channel&gt;');
    expect(m.blocks.map((b: { type: string }) => b.type)).toEqual(['header', 'section', 'actions', 'context']);
    const fields: string[] = m.blocks[1].fields.map((f: { text: string }) => f.text);
    expect(fields).toContain('*Agent*\nbilling-agent');
    const resource = fields.find((f) => f.startsWith('*Resource*')) as string;
    expect(resource).not.toMatch(/<[^&]/); // no raw < left for Slack to read as a link or mention
    expect(resource).toContain('&lt;https://evil.example|click&gt; &amp;');
    expect(m.blocks[2].elements[0]).toMatchObject({ type: 'button', url: 'https://ascend.example.com/console#/actions/act_1' });
    const none = JSON.parse(renderPayload('slack', pending, undefined));
    expect(none.blocks.map((b: { type: string }) => b.type)).toEqual(['header', 'section', 'context']);
    expect(slackEscape('a<b>&c')).toBe('a&lt;b&gt;&amp;c');
  });

  it('teams: an Adaptive Card 1.4 in a message, facts escaped, Action.OpenUrl to the console', () => {
    const m = JSON.parse(renderPayload('teams', pending, 'https://ascend.example.com'));
    expect(m.type).toBe('message');
    expect(m.attachments[0].contentType).toBe('application/vnd.microsoft.card.adaptive');
    const card = m.attachments[0].content;
    expect([card.type, card.version]).toEqual(['AdaptiveCard', '1.4']);
    expect(card.body[0].color).toBe('Attention'); // risk ≥ 70
    const facts = card.body[1].facts as { title: string; value: string }[];
    expect(facts.find((f) => f.title === 'Resource')?.value).toBe(teamsEscape(HOSTILE));
    expect(teamsEscape('[x](y)*')).toBe('\\[x\\]\\(y\\)\\*');
    expect(card.actions).toEqual([{ type: 'Action.OpenUrl', title: 'Open in the console', url: 'https://ascend.example.com/console#/actions/act_1' }]);
  });

  it('servicenow: a Table API incident; urgency and impact from the risk score; the event id correlates', () => {
    const inc = JSON.parse(renderPayload('servicenow', pending, 'https://ascend.example.com'));
    expect(inc).toMatchObject({ urgency: '1', impact: '1', category: 'security', correlation_id: 'evt_1', correlation_display: 'ascend-sidecar' });
    expect(inc.short_description.length).toBeLessThanOrEqual(160);
    expect(inc.description).toContain('Console: https://ascend.example.com/console#/actions/act_1');
    expect(inc.description).toContain('Event: action.pending (evt_1)');
    const low = JSON.parse(renderPayload('servicenow', { ...pending, data: { ...pending.data, risk_score: 45 } }, undefined));
    expect([low.urgency, low.impact]).toEqual(['2', '2']);
    const none = JSON.parse(renderPayload('servicenow', { ...pending, data: { ...pending.data, risk_score: null } }, undefined));
    expect(none.urgency).toBe('3');
  });
});
