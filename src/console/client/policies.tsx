/** Policies with their hit counts and monitor-mode would-denies since this process started. */
import { useEffect, useState } from 'preact/hooks';
import { api } from './api.js';
import { when } from './format.js';
import { useLive } from './live.js';

interface Policy {
  id: string; name: string; priority: number; enabled: boolean; mode: string; action: string;
  hits: number; allowed: number; denied: number; pending: number; monitor_would_deny: number;
}

export function PoliciesPage() {
  const [data, setData] = useState<{ since: string; mode: string | null; items: Policy[] } | undefined>();
  const load = () => { api<{ since: string; mode: string | null; items: Policy[] }>('GET', '/policies').then(setData, () => undefined); };
  useEffect(load, []);
  useLive('decision', load);
  return (
    <section aria-labelledby="policies-title">
      <h1 id="policies-title">Policies</h1>
      {data && <p class="hint">Counts since {when(data.since)} (this process). Global mode: {data.mode ?? 'enforce'}.</p>}
      <div class="table-wrap">
        <table>
          <caption>Policies by priority</caption>
          <thead><tr><th scope="col">Policy</th><th scope="col">Action</th><th scope="col">Mode</th><th scope="col">Priority</th><th scope="col">Hits</th><th scope="col">Allowed / denied / pending</th><th scope="col">Monitor would deny</th></tr></thead>
          <tbody>
            {data?.items.map((p) => (
              <tr data-testid="policy-row" data-policy-id={p.id}>
                <td>{p.name ? `${p.name} (${p.id})` : p.id}{p.enabled ? '' : ' (disabled)'}</td>
                <td>{p.action}</td><td>{p.mode}</td><td>{p.priority}</td>
                <td data-field="hits">{p.hits}</td><td>{p.allowed} / {p.denied} / {p.pending}</td><td data-field="would-deny">{p.monitor_would_deny}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
