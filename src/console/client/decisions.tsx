/** Live decisions over SSE, filtered by agent, decision and adapter (newest first). */
import { useEffect, useState } from 'preact/hooks';
import { api } from './api.js';
import { useLiveData } from './live.js';

interface Decision {
  time: string; action_id: string; adapter: string; agent_id: string | null; action_type: string | null; resource: string | null;
  decision: string; code: string; policy_id: string | null; risk_score: number; reason: string; monitor: { policy_id: string | null; would_be: string } | null;
}

const KEEP = 500;

export function DecisionsPage() {
  const [items, setItems] = useState<Decision[]>([]);
  const [agent, setAgent] = useState('');
  const [decision, setDecision] = useState('');
  const [adapter, setAdapter] = useState('');
  useEffect(() => { api<{ items: Decision[] }>('GET', '/decisions').then((r) => setItems(r.items), () => undefined); }, []);
  useLiveData<Decision>('decision', (d) => setItems((xs) => [d, ...xs].slice(0, KEEP)));
  const shown = items.filter((d) => (!agent || (d.agent_id ?? '').includes(agent)) && (!decision || d.decision === decision) && (!adapter || d.adapter === adapter));
  const adapters = [...new Set(items.map((d) => d.adapter))].sort();
  return (
    <section aria-labelledby="decisions-title">
      <h1 id="decisions-title">Live decisions</h1>
      <p class="hint">Every decision this sidecar takes, as it happens (newest first; the last {KEEP} are kept).</p>
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <label>Agent<input data-testid="filter-agent" value={agent} onInput={(e) => setAgent((e.target as HTMLInputElement).value)} /></label>
        <label>Decision
          <select data-testid="filter-decision" value={decision} onChange={(e) => setDecision((e.target as HTMLSelectElement).value)}>
            <option value="">any</option><option value="allowed">allowed</option><option value="denied">denied</option><option value="pending">pending</option>
          </select>
        </label>
        <label>Adapter
          <select data-testid="filter-adapter" value={adapter} onChange={(e) => setAdapter((e.target as HTMLSelectElement).value)}>
            <option value="">any</option>{adapters.map((a) => <option value={a}>{a}</option>)}
          </select>
        </label>
      </form>
      <div class="table-wrap">
        <table>
          <caption>{shown.length} of {items.length} decisions</caption>
          <thead><tr><th scope="col">Time</th><th scope="col">Agent</th><th scope="col">Action</th><th scope="col">Decision</th><th scope="col">Risk</th><th scope="col">Policy</th><th scope="col">Adapter</th></tr></thead>
          <tbody>
            {shown.map((d) => (
              <tr data-testid="decision-row" data-decision={d.decision}>
                <td>{new Date(d.time).toLocaleTimeString()}</td>
                <td>{d.agent_id ?? '—'}</td>
                <td>{d.action_type ?? '—'} <span class="on">on</span> {d.resource ?? '—'}</td>
                <td>{d.decision}{d.monitor ? ` (monitor: would be ${d.monitor.would_be})` : ''}</td>
                <td>{d.risk_score}</td>
                <td>{d.policy_id ?? d.code}</td>
                <td>{d.adapter}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
