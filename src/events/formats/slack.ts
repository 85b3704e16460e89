/**
 * Slack: an incoming-webhook message in Block Kit (https://api.slack.com/block-kit): a header,
 * the facts as fields, a button to the console's action page, and `text` as the notification's
 * fallback. Slack reads `&`, `<` and `>` as markup (`<url|label>` makes a link), so every value
 * is escaped as Slack documents (https://api.slack.com/reference/surfaces/formatting#escaping).
 */
import type { NotificationFacts } from './facts.js';

export const slackEscape = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Slack caps a header at 150 characters and a field at 2000. */
const cap = (s: string, n: number): string => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

export function slackMessage(f: NotificationFacts, eventId: string): Record<string, unknown> {
  const blocks: Record<string, unknown>[] = [
    { type: 'header', text: { type: 'plain_text', text: cap(f.summary, 150), emoji: false } },
    { type: 'section', fields: f.facts.slice(0, 10).map(([k, v]) => ({ type: 'mrkdwn', text: cap(`*${k}*\n${slackEscape(v)}`, 2000) })) },
  ];
  if (f.link) {
    blocks.push({ type: 'actions', elements: [{ type: 'button', text: { type: 'plain_text', text: 'Open in the console' }, url: f.link, action_id: 'open_console' }] });
  }
  blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `ascend-sidecar · event ${slackEscape(eventId)}` }] });
  return { text: slackEscape(f.summary), blocks };
}
