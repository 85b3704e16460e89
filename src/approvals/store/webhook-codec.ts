/** Row ↔ record mapping for the API-made webhook subscriptions (SQLite and PostgreSQL alike). */
import type { WebhookRecord } from './records.js';
import { json, num, optStr, str, type Row } from './codec.js';

const PREFIX = 'wh_';

/** `wh_12` → 12; anything else names no stored subscription. */
export function webhookRowId(webhookId: string): number | undefined {
  if (!webhookId.startsWith(PREFIX)) return undefined;
  const digits = webhookId.slice(PREFIX.length);
  return /^[1-9][0-9]{0,15}$/.test(digits) ? Number(digits) : undefined;
}

export function rowToWebhook(r: Row): WebhookRecord {
  return {
    webhook_id: `${PREFIX}${num(r.id)}`, url: str(r.url), events: json<string[]>(r.events), secret: str(r.secret),
    agent_id: optStr(r.agent_id), format: r.format as WebhookRecord['format'], created_by: str(r.created_by),
    created_at: num(r.created_at), updated_at: num(r.updated_at),
  };
}
