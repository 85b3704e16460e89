/**
 * Webhook subscriptions made through the API, in SQLite. Ids are `wh_<rowid>`: store-assigned,
 * never reused (AUTOINCREMENT); the url is UNIQUE, so two racing creations of one url cannot
 * both succeed.
 */
import type { Database, Statement } from 'better-sqlite3';
import type { NewWebhook, WebhookChange, WebhookRecord } from '../records.js';
import type { WebhookWrite } from '../store.js';
import type { Row } from '../codec.js';
import { rowToWebhook, webhookRowId } from '../webhook-codec.js';

const isUniqueViolation = (err: unknown): boolean => (err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE';

export class WebhooksSql {
  private readonly s: Record<'insert' | 'list' | 'get' | 'update' | 'remove', Statement>;

  constructor(db: Database) {
    this.s = {
      insert: db.prepare(`INSERT INTO webhooks (url, events, secret, agent_id, format, created_by, created_at, updated_at)
        VALUES (:url, :events, :secret, :agent_id, :format, :created_by, :created_at, :created_at) RETURNING *`),
      list: db.prepare('SELECT * FROM webhooks ORDER BY id'),
      get: db.prepare('SELECT * FROM webhooks WHERE id = ?'),
      update: db.prepare(`UPDATE webhooks SET url = COALESCE(:url, url), events = COALESCE(:events, events),
        secret = COALESCE(:secret, secret), format = COALESCE(:format, format), updated_at = :now WHERE id = :id RETURNING *`),
      remove: db.prepare('DELETE FROM webhooks WHERE id = ?'),
    };
  }

  create(w: NewWebhook): WebhookWrite {
    try {
      const row = this.s.insert.get({ ...w, events: JSON.stringify(w.events) }) as Row;
      return { ok: true, webhook: rowToWebhook(row) };
    } catch (err) {
      if (isUniqueViolation(err)) return { ok: false, error: 'url_taken' };
      throw err;
    }
  }

  list(): WebhookRecord[] {
    return (this.s.list.all() as Row[]).map(rowToWebhook);
  }

  get(webhookId: string): WebhookRecord | undefined {
    const id = webhookRowId(webhookId);
    const row = id === undefined ? undefined : (this.s.get.get(id) as Row | undefined);
    return row && rowToWebhook(row);
  }

  update(webhookId: string, c: WebhookChange, now: number): WebhookWrite {
    const id = webhookRowId(webhookId);
    if (id === undefined) return { ok: false, error: 'not_found' };
    try {
      const row = this.s.update.get({
        id, now, url: c.url ?? null, events: c.events ? JSON.stringify(c.events) : null, secret: c.secret ?? null, format: c.format ?? null,
      }) as Row | undefined;
      return row ? { ok: true, webhook: rowToWebhook(row) } : { ok: false, error: 'not_found' };
    } catch (err) {
      if (isUniqueViolation(err)) return { ok: false, error: 'url_taken' };
      throw err;
    }
  }

  remove(webhookId: string): boolean {
    const id = webhookRowId(webhookId);
    return id !== undefined && this.s.remove.run(id).changes === 1;
  }
}
