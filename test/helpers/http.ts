/**
 * Small HTTP client helpers over real sockets: JSON posts with node's fetch, and raw
 * requests with node:http when a test needs a target fetch would normalize (`..`, `%2F`)
 * or exact control over headers and body.
 */
import { request } from 'node:http';
import { connect } from 'node:net';

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export async function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: any; headers: Headers }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text === '' ? undefined : JSON.parse(text), headers: res.headers };
}

export function rawRequest(
  port: number,
  opts: { method?: string; path: string; headers?: Record<string, string | string[]>; body?: string | Buffer; host?: string; localAddress?: string },
): Promise<RawResponse> {
  // node sends GET/DELETE/OPTIONS bodies without framing unless told their length.
  const body = typeof opts.body === 'string' ? Buffer.from(opts.body) : opts.body;
  const headers = body === undefined ? opts.headers : { 'content-length': String(body.length), ...opts.headers };
  return new Promise((resolve, reject) => {
    const req = request(
      { host: opts.host ?? '127.0.0.1', port, localAddress: opts.localAddress, method: opts.method ?? 'GET', path: opts.path, headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

/** Prometheus text → the value of one sample (labels given in file order), or undefined. */
export function sample(metrics: string, name: string, labels: Record<string, string>): number | undefined {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of metrics.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const inner = line.slice(name.length + 1, line.indexOf('}'));
    const have = inner.split(',');
    if (want.every((w) => have.includes(w))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

/**
 * Sends bytes exactly as given (a request line no HTTP client library would produce: raw
 * CR/LF, NUL, backslashes, non-UTF-8) and returns the status of the answer (0 when the
 * server closed without one).
 */
export function rawHttp(port: number, request: Buffer | string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    sock.on('data', (c: Buffer) => chunks.push(c));
    sock.on('error', (e: NodeJS.ErrnoException) => (e.code === 'ECONNRESET' ? undefined : reject(e)));
    sock.on('close', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
      resolve({ status: m ? Number(m[1]) : 0, text });
    });
    // write, not end: nginx treats a half-closed client as gone and drops the request (499).
    // The request says `Connection: close`, so the server closes when it has answered.
    sock.write(typeof request === 'string' ? Buffer.from(request, 'latin1') : request);
    sock.setTimeout(10_000, () => sock.destroy());
  });
}

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;
const VOLATILE = new Set(['date']);

/**
 * A response as two servers answering the same request must agree on it: without its date
 * header, its ids (random) masked in headers and body. The body length follows the ids'
 * replacement, which is the same on both sides.
 */
export function comparable(r: RawResponse): { status: number; headers: Record<string, unknown>; body: string } {
  const headers: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(r.headers)) if (!VOLATILE.has(k)) headers[k] = typeof v === 'string' ? v.replace(UUID, '<id>') : v;
  return { status: r.status, headers, body: r.body.replace(UUID, '<id>') };
}
