/**
 * Notification formats per subscription (`webhooks[].format`): `ascend` (the signed envelope,
 * the default), `slack` (Block Kit), `teams` (Adaptive Card), `servicenow` (a Table API
 * incident). The body is rendered once per format when the event is enqueued, so every retry
 * sends (and signs) the same bytes.
 */
import type { NotificationFormat, WebhookEnvelope } from '../types.js';
import { factsOf } from './facts.js';
import { serviceNowIncident } from './servicenow.js';
import { slackMessage } from './slack.js';
import { teamsMessage } from './teams.js';

export { NOTIFICATION_FORMATS, type NotificationFormat } from '../types.js';

export function renderPayload(format: NotificationFormat, e: WebhookEnvelope, publicUrl: string | undefined): string {
  if (format === 'ascend') return JSON.stringify(e);
  const f = factsOf(e, publicUrl);
  const body = format === 'slack' ? slackMessage(f, e.id) : format === 'teams' ? teamsMessage(f, e.id) : serviceNowIncident(f, e.id, e.event);
  return JSON.stringify(body);
}
