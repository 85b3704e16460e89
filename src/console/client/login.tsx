/** Login: an API key exchanged for a session cookie (the key is not kept by the page). */
import { useState } from 'preact/hooks';
import { api, ApiFailure, type Me } from './api.js';

export function Login({ onLogin }: { onLogin: (me: Me) => void }) {
  const [key, setKey] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError('');
    try {
      const me = await api<Me>('POST', '/login', { key });
      setKey('');
      onLogin(me);
    } catch (err) {
      setError(err instanceof ApiFailure ? err.message : 'The sidecar did not answer');
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="login" id="main">
      <h1>ascend-sidecar console</h1>
      <form onSubmit={submit}>
        <label for="key">API key</label>
        <input id="key" type="password" autoComplete="off" required data-testid="login-key"
          value={key} onInput={(e) => setKey((e.target as HTMLInputElement).value)} />
        <button type="submit" data-testid="login-submit" disabled={busy}>Log in</button>
        {error && <p role="alert" class="error">{error}</p>}
      </form>
      <p class="hint">Viewer, approver and admin keys can log in. The key is exchanged for a session; it is not stored in the browser.</p>
    </main>
  );
}
