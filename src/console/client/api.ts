/** The console's JSON routes (/console/api), with the session's CSRF token on every change. */

export interface Me {
  name: string;
  role: 'admin' | 'approver' | 'viewer';
  groups: string[];
  csrf_token: string;
  expires_at: string;
  server_time: string;
}

export class ApiFailure extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

let csrf = '';
let clockSkewMs = 0;
let onLoggedOut: () => void = () => {};

export function useSession(me: Me | undefined, loggedOut: () => void): void {
  csrf = me?.csrf_token ?? '';
  if (me) clockSkewMs = Date.parse(me.server_time) - Date.now();
  onLoggedOut = loggedOut;
}

/** Now on the server's clock (deadlines are the server's). */
export const serverNow = (): number => Date.now() + clockSkewMs;

export async function api<T = any>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET') headers['x-csrf-token'] = csrf;
  const res = await fetch(`/console/api${path}`, {
    method, headers, credentials: 'same-origin', body: body === undefined ? null : JSON.stringify(body),
  });
  const data = await res.json().catch(() => undefined);
  if (!res.ok) {
    const err = new ApiFailure(res.status, data?.error?.code ?? 'error', data?.error?.message ?? res.statusText);
    if (res.status === 401 && path !== '/login' && path !== '/session') onLoggedOut();
    throw err;
  }
  return data as T;
}
