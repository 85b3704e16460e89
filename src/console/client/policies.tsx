/** Policies with their hit counts and monitor-mode would-denies since this process started. */
import { useEffect, useState } from 'preact/hooks';
import { api } from './api.js';
import { when } from './format.js';
import { useLive } from './live.js';

interface Policy {
  id: string; name: string; priority: number; enabled: boolean; mode: string; action: string;
  hits: number; allowed: number; denied: number; pending: number; monitor_would_deny: number;
}

interface Variant { decisions: number; allowed: number; denied: number; pending: number }
interface AbTest {
  name: string; control_policy: string; test_policy: string; traffic_split: number; status: string; shadow: boolean;
  variants: { control: Variant; test: Variant }; divergences: number;
}
type Data = { since: string; mode: string | null; items: Policy[]; ab_tests: AbTest[] };

export function PoliciesPage() {
  const [data, setData] = useState<Data | undefined>();
  const load = () => { api<Data>('GET', '/policies').then(setData, () => undefined); };
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
      {data && data.ab_tests.length > 0 && (
        <div class="table-wrap">
          <table>
            <caption>A/B tests (this process's counts)</caption>
            <thead><tr><th scope="col">Test</th><th scope="col">Status</th><th scope="col">Control: decisions (allowed / denied / pending)</th><th scope="col">Test: decisions (allowed / denied / pending)</th><th scope="col">Divergences</th></tr></thead>
            <tbody>{data.ab_tests.map((t) => (
              <tr data-testid="ab-row">
                <td>{t.name}: {t.control_policy} vs {t.test_policy} ({t.traffic_split} %{t.shadow ? ', shadow' : ''})</td>
                <td>{t.status}</td>
                <td>{t.variants.control.decisions} ({t.variants.control.allowed} / {t.variants.control.denied} / {t.variants.control.pending})</td>
                <td>{t.variants.test.decisions} ({t.variants.test.allowed} / {t.variants.test.denied} / {t.variants.test.pending})</td>
                <td>{t.divergences}</td>
              </tr>
            ))}</tbody>
          </table>
        </div>
      )}
    </section>
  );
}
