/**
 * The console's single page: login, then the pages by hash route (#/approvals, #/actions/ID, …).
 * Preact renders every value as text; nothing an agent sent is ever parsed as HTML.
 */
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, ApiFailure, useSession, type Me } from './api.js';
import { ApprovalsPage } from './approvals.js';
import { ActionPage } from './action.js';
import { AgentsPage } from './agents.js';
import { DecisionsPage } from './decisions.js';
import { PoliciesPage } from './policies.js';
import { WebhooksPage } from './webhooks.js';
import { Login } from './login.js';

function useHash(): string {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const on = () => setHash(location.hash);
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return hash;
}

const PAGES: readonly { hash: string; label: string }[] = [
  { hash: '#/approvals', label: 'Pending approvals' },
  { hash: '#/agents', label: 'Agents' },
  { hash: '#/decisions', label: 'Live decisions' },
  { hash: '#/policies', label: 'Policies' },
  { hash: '#/webhooks', label: 'Webhooks' },
];

function Page({ hash, me }: { hash: string; me: Me }) {
  const action = /^#\/actions\/(.+)$/.exec(hash);
  if (action) return <ActionPage id={decodeURIComponent(action[1] as string)} me={me} />;
  if (hash.startsWith('#/agents')) return <AgentsPage me={me} />;
  if (hash.startsWith('#/decisions')) return <DecisionsPage />;
  if (hash.startsWith('#/policies')) return <PoliciesPage />;
  if (hash.startsWith('#/webhooks')) return <WebhooksPage me={me} />;
  return <ApprovalsPage me={me} />;
}

function App() {
  const [me, setMe] = useState<Me | null | undefined>(undefined);
  const hash = useHash();
  useSession(me ?? undefined, () => setMe(null));
  useEffect(() => {
    api<Me>('GET', '/session').then(setMe, (e: unknown) => {
      if (e instanceof ApiFailure && e.status === 401) setMe(null);
      else setMe(null);
    });
  }, []);
  useEffect(() => { document.getElementById('main')?.focus(); }, [hash]);
  if (me === undefined) return <p class="boot">Loading…</p>;
  if (me === null) return <Login onLogin={setMe} />;
  const logout = async () => {
    await api('POST', '/logout').catch(() => undefined);
    setMe(null);
  };
  const current = PAGES.find((p) => hash.startsWith(p.hash))?.hash ?? '#/approvals';
  return (
    <>
      <a class="skip" href="#main" onClick={(e) => { e.preventDefault(); document.getElementById('main')?.focus(); }}>Skip to content</a>
      <header class="top">
        <span class="brand">ascend-sidecar</span>
        <nav aria-label="Pages">
          {PAGES.map((p) => <a href={p.hash} aria-current={p.hash === current ? 'page' : undefined}>{p.label}</a>)}
        </nav>
        <span class="who">{me.name} <span class="role">{me.role}</span></span>
        <button type="button" data-testid="logout" onClick={logout}>Log out</button>
      </header>
      <main id="main" tabIndex={-1}>
        <Page hash={hash} me={me} />
      </main>
    </>
  );
}

render(<App />, document.getElementById('app') as HTMLElement);
