/** One action: what was asked, its decision history (audit trail), votes, completion. */
import { useCallback, useEffect, useState } from 'preact/hooks';
import { api, type Me } from './api.js';
import { json, riskClass, when } from './format.js';
import { useLive } from './live.js';
import type { Approval, RiskFactor } from './types.js';

interface Delivery {
  id: number; event: string; webhook_id: string | null; format: string | null; url: string; state: string;
  attempts: number; last_error: string | null; created_at: string; delivered_at: string | null; next_attempt_at: string | null;
}

interface HistoryRow { id: number; time: string; event_type: string; adapter: string; decision: string; reason: string | null; policy_id: string | null; actor: string | null }

interface ActionDetail {
  action_id: string;
  agent_id: string | null;
  action_type: string;
  resource: string;
  parameters: Record<string, unknown>;
  context: Record<string, unknown>;
  decision: string;
  status: string;
  risk_score: number | null;
  risk_factors?: RiskFactor[];
  reason: string | null;
  policy_id: string | null;
  created_at: string;
  completion: { status: string; result: unknown; completed_at: string } | null;
  approval?: Approval;
  history: HistoryRow[];
  webhooks: Delivery[];
}

export function ActionPage({ id }: { id: string; me: Me }) {
  const [a, setA] = useState<ActionDetail | undefined>();
  const [error, setError] = useState('');
  const load = useCallback(() => {
    api<ActionDetail>('GET', `/actions/${encodeURIComponent(id)}`).then(setA, (e: unknown) => setError(e instanceof Error ? e.message : String(e)));
  }, [id]);
  useEffect(load, [id]);
  useLive('approvals', load);
  if (error) return <p role="alert" class="error">{error}</p>;
  if (!a) return <p>Loading…</p>;
  const ap = a.approval;
  const factors = ap?.risk_factors ?? a.risk_factors ?? [];
  return (
    <article class="detail" aria-labelledby="action-title">
      <p><a href="#/approvals">← Pending approvals</a></p>
      <h1 id="action-title">{a.action_type} <span class="on">on</span> <code>{a.resource}</code></h1>
      <dl class="facts">
        <dt>Action</dt><dd><code>{a.action_id}</code></dd>
        <dt>Agent</dt><dd data-field="agent">{a.agent_id ?? '(none)'}</dd>
        <dt>Decision now</dt><dd>{a.decision} (status {a.status})</dd>
        <dt>Policy</dt><dd>{a.policy_id ?? '—'}</dd>
        <dt>Reason</dt><dd data-field="reason">{a.reason ?? '—'}</dd>
        <dt>Requested</dt><dd>{when(a.created_at)}</dd>
        <dt>Risk</dt><dd class={riskClass(a.risk_score)}>{a.risk_score ?? '—'} {factors.length > 0 && `(${factors.map((f) => `${f.detail} ${f.points > 0 ? '+' : ''}${f.points}`).join('; ')})`}</dd>
      </dl>
      <h2>Parameters</h2>
      <pre data-field="parameters">{json(a.parameters, 20_000)}</pre>
      <h2>Context</h2>
      <pre>{json(a.context, 20_000)}</pre>
      {ap && (
        <section aria-labelledby="approval-title">
          <h2 id="approval-title">Approval <code>{ap.approval_id}</code>: {ap.status}</h2>
          <p>{ap.workflow ? `Workflow ${ap.workflow}, ` : ''}step {ap.step} of {ap.steps}{ap.escalated ? ', escalated' : ''}; deadline {when(ap.deadline_at)}{ap.decided_at ? `; decided ${when(ap.decided_at)}` : ''}</p>
          {ap.votes.length === 0 ? <p>No votes yet.</p> : (
            <table>
              <caption>Votes</caption>
              <thead><tr><th scope="col">Approver</th><th scope="col">Vote</th><th scope="col">Step</th><th scope="col">Comment</th><th scope="col">At</th></tr></thead>
              <tbody>{ap.votes.map((v) => <tr><td>{v.approver}</td><td>{v.vote}</td><td>{v.step}{v.escalated ? ' (escalated)' : ''}</td><td>{v.comment ?? ''}</td><td>{when(v.at)}</td></tr>)}</tbody>
            </table>
          )}
        </section>
      )}
      <h2>Decision history</h2>
      {a.history.length === 0 ? <p>No audit rows for this action (yet: rows are written in batches).</p> : (
        <table>
          <caption>Audit trail, newest first</caption>
          <thead><tr><th scope="col">Time</th><th scope="col">Event</th><th scope="col">Adapter</th><th scope="col">Decision</th><th scope="col">Reason</th></tr></thead>
          <tbody>{a.history.map((h) => <tr><td>{when(h.time)}</td><td>{h.event_type}{h.actor ? ` by ${h.actor}` : ''}</td><td>{h.adapter}</td><td>{h.decision}</td><td>{h.reason ?? ''}</td></tr>)}</tbody>
        </table>
      )}
      <h2>Webhooks sent</h2>
      {a.webhooks.length === 0 ? <p>No webhook deliveries for this action.</p> : (
        <div class="table-wrap">
          <table>
            <caption>Deliveries of events about this action, oldest first (URLs masked)</caption>
            <thead><tr><th scope="col">Event</th><th scope="col">Subscription</th><th scope="col">Status</th><th scope="col">Attempts</th><th scope="col">Last error</th><th scope="col">Delivered</th></tr></thead>
            <tbody>{a.webhooks.map((w) => (
              <tr data-testid="webhook-delivery" data-delivery-id={String(w.id)} data-state={w.state}>
                <td>{w.event}</td>
                <td>{w.webhook_id ?? '(removed)'}{w.format && w.format !== 'ascend' ? ` (${w.format})` : ''} <code>{w.url}</code></td>
                <td>{w.state}{w.state === 'pending' && w.next_attempt_at ? `, next try ${when(w.next_attempt_at)}` : ''}</td>
                <td>{w.attempts}</td><td>{w.last_error ?? ''}</td><td>{when(w.delivered_at)}</td>
              </tr>
            ))}</tbody>
          </table>
        </div>
      )}
      <h2>Completion</h2>
      {a.completion ? <p>{a.completion.status} at {when(a.completion.completed_at)}: <code>{json(a.completion.result)}</code></p> : <p>Not reported.</p>}
    </article>
  );
}
