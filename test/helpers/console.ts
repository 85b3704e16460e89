/**
 * Console test kit: a cookie-keeping client for /console/api (login, then requests with the
 * session cookie and, for changes, the CSRF token), over real HTTP.
 */
export interface ConsoleResponse<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

export class ConsoleClient {
  cookie = '';
  csrf = '';

  constructor(private readonly base: string) {}

  async request<T = any>(method: string, path: string, body?: unknown, opts: { csrf?: string | null; headers?: Record<string, string> } = {}): Promise<ConsoleResponse<T>> {
    const headers: Record<string, string> = { ...opts.headers };
    if (this.cookie) headers.cookie = this.cookie;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const csrf = opts.csrf === undefined ? this.csrf : opts.csrf;
    if (method !== 'GET' && csrf !== null && csrf !== '') headers['x-csrf-token'] = csrf;
    const res = await fetch(`${this.base}/console/api${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    return { status: res.status, body: text === '' ? undefined : JSON.parse(text), headers: res.headers };
  }

  /** Logs in with `key`; keeps the cookie and CSRF token of a success. */
  async login(key: string): Promise<ConsoleResponse> {
    const r = await this.request('POST', '/login', { key }, { csrf: null });
    const set = r.headers.get('set-cookie');
    if (r.status === 200 && set) {
      this.cookie = set.split(';')[0] as string;
      this.csrf = r.body.csrf_token as string;
    }
    return r;
  }
}
