/** Agents: configured and registered, last heartbeat, recent decisions, the kill switch (admins, with a confirmation). */
import { useCallback, useEffect, useState } from 'preact/hooks';
import { api, ApiFailure, type Me } from './api.js';
import { when } from './format.js';
import { useLive } from './live.js';

interface Agent {
  agent_id: string;
  display_name: string | null;
  agent_type: string | null;
  source: string;
  environment: string | null;
  health: { status: string; last_heartbeat: string | null };
  kill_switch: { active: boolean; reason: string | null; activated_by: string | null; activated_at: string | null };
  recent: { time: string; decision: string; action_type: string; resource: string; reason: string | null }[];
}

export function AgentsPage({ me }: { me: Me }) {
  const [items, setItems] = useState<Agent[] | undefined>();
  const [error, setError] = useState('');
  const [notice, setNotice] = useState('');
  const [confirming, setConfirming] = useState<string | null>(null);
  const [reason, setReason] = useState('');
  const load = useCallback(() => {
    api<{ items: Agent[] }>('GET', '/agents').then((r) => setItems(r.items), (e: unknown) => setError(e instanceof Error ? e.message : String(e)));
  }, []);
  useEffect(load, []);
  useLive('decision', load);
  const admin = me.role === 'admin';
  const act = async (path: string, body: unknown, done: string) => {
    try {
      await api('POST', path, body);
      setNotice(done);
      setConfirming(null);
      setReason('');
      load();
    } catch (e) {
      setNotice(e instanceof ApiFailure ? `Refused: ${e.message}` : 'The sidecar did not answer');
    }
  };
  return (
    <section aria-labelledby="agents-title">
      <h1 id="agents-title">Agents</h1>
      <p role="status" aria-live="polite" class="notice">{notice}</p>
      {error && <p role="alert" class="error">{error}</p>}
      <div class="rows">
        {items?.map((a) => (
          <article class="row" data-testid="agent-row" data-agent-id={a.agent_id}>
            <div class="main">
              <h2>{a.agent_id}{a.display_name ? <span class="on"> ({a.display_name})</span> : null}</h2>
              <dl class="facts">
                <dt>Type</dt><dd>{a.agent_type ?? '—'} · from {a.source}{a.environment ? ` · ${a.environment}` : ''}</dd>
                <dt>Heartbeat</dt><dd>{a.health.status}{a.health.last_heartbeat ? `, last ${when(a.health.last_heartbeat)}` : ''}</dd>
                <dt>Kill switch</dt>
                <dd data-field="kill-switch">{a.kill_switch.active ? `BLOCKED by ${a.kill_switch.activated_by ?? '?'}: ${a.kill_switch.reason ?? ''}` : 'off'}</dd>
              </dl>
              <details>
                <summary>Recent decisions ({a.recent.length})</summary>
                <ul>{a.recent.map((d) => <li>{when(d.time)} {d.decision}: {d.action_type} on {d.resource}{d.reason ? ` (${d.reason})` : ''}</li>)}</ul>
              </details>
            </div>
            {admin && (
              <div class="side">
                {a.kill_switch.active
                  ? <button type="button" data-testid="unblock" onClick={() => act(`/agents/${encodeURIComponent(a.agent_id)}/unblock`, undefined, `Block on ${a.agent_id} lifted`)}>Lift the block</button>
                  : confirming === a.agent_id
                    ? (
                      <form class="vote" onSubmit={(e) => { e.preventDefault(); void act(`/agents/${encodeURIComponent(a.agent_id)}/kill-switch`, { reason }, `${a.agent_id} blocked`); }}>
                        <label for={`reason-${a.agent_id}`}>Why block {a.agent_id}? Every request of this agent will be denied.</label>
                        <input id={`reason-${a.agent_id}`} data-testid="kill-reason" required maxLength={1000} value={reason} onInput={(e) => setReason((e.target as HTMLInputElement).value)} />
                        <div class="buttons">
                          <button type="submit" class="danger" data-testid="kill-confirm">Block {a.agent_id}</button>
                          <button type="button" onClick={() => setConfirming(null)}>Cancel</button>
                        </div>
                      </form>
                    )
                    : <button type="button" class="danger" data-testid="kill-switch" onClick={() => setConfirming(a.agent_id)}>Kill switch…</button>}
              </div>
            )}
          </article>
        ))}
      </div>
      {items && items.length === 0 && <p class="empty">No agents configured or registered.</p>}
    </section>
  );
}
