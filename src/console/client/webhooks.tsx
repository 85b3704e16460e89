/** Webhook subscriptions (URLs masked, secrets never shown), dead letters, requeue (admins). */
import { useEffect, useState } from 'preact/hooks';
import { api, ApiFailure, type Me } from './api.js';
import { when } from './format.js';

interface Sub { webhook_id: string; url: string; events: string[]; source: string; agent_id: string | null; format?: string }
interface Dead { id: number; event: string; url: string; attempts: number; last_error: string | null; created_at: string }

export function WebhooksPage({ me }: { me: Me }) {
  const [data, setData] = useState<{ subscriptions: Sub[]; dead_letters: Dead[]; outbox_depth: number } | undefined>();
  const [notice, setNotice] = useState('');
  const load = () => { api<{ subscriptions: Sub[]; dead_letters: Dead[]; outbox_depth: number }>('GET', '/webhooks').then(setData, () => undefined); };
  useEffect(load, []);
  const requeue = async (id: number) => {
    try {
      await api('POST', `/webhooks/dead-letters/${id}/requeue`);
      setNotice(`Delivery ${id} queued again`);
      load();
    } catch (e) {
      setNotice(e instanceof ApiFailure ? `Refused: ${e.message}` : 'The sidecar did not answer');
    }
  };
  return (
    <section aria-labelledby="webhooks-title">
      <h1 id="webhooks-title">Webhooks</h1>
      <p role="status" aria-live="polite" class="notice">{notice}</p>
      {data && <p class="hint">{data.outbox_depth} deliveries waiting in the outbox.</p>}
      <div class="table-wrap">
        <table>
          <caption>Subscriptions (URLs masked; secrets are never shown)</caption>
          <thead><tr><th scope="col">Id</th><th scope="col">URL</th><th scope="col">Events</th><th scope="col">Format</th><th scope="col">From</th></tr></thead>
          <tbody>{data?.subscriptions.map((s) => <tr data-testid="webhook-row"><td>{s.webhook_id}</td><td>{s.url}</td><td>{s.events.join(', ')}</td><td>{s.format ?? 'ascend'}</td><td>{s.source}</td></tr>)}</tbody>
        </table>
        <table>
          <caption>Dead letters (deliveries that ran out of attempts)</caption>
          <thead><tr><th scope="col">Id</th><th scope="col">Event</th><th scope="col">URL</th><th scope="col">Attempts</th><th scope="col">Last error</th><th scope="col">Created</th>{me.role === 'admin' && <th scope="col">Requeue</th>}</tr></thead>
          <tbody>{data?.dead_letters.map((d) => (
            <tr data-testid="dead-letter-row" data-dead-letter-id={String(d.id)}>
              <td>{d.id}</td><td>{d.event}</td><td>{d.url}</td><td>{d.attempts}</td><td>{d.last_error ?? ''}</td><td>{when(d.created_at)}</td>
              {me.role === 'admin' && <td><button type="button" data-testid="requeue" onClick={() => requeue(d.id)}>Requeue</button></td>}
            </tr>
          ))}</tbody>
        </table>
      </div>
      {data && data.dead_letters.length === 0 && <p class="empty">No dead letters.</p>}
    </section>
  );
}
