/**
 * Replays requests the ASCEND Python SDK made (test/fixtures/sdk/*.json: method, path, every
 * header in order, the body text) over node:http, byte for byte: `Content-Type:
 * application/json` with `Content-Length: 0` on bodiless POST and DELETE, both key headers,
 * the SDK's User-Agent, correlation id, timestamp and signature.
 */
import { readFileSync } from 'node:fs';
import { request } from 'node:http';

export interface SdkRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: readonly (readonly [string, string])[];
  readonly body: string;
}

export interface SdkFixture {
  readonly api_key: string;
  readonly agent_id: string;
  readonly signing_secret?: string;
  readonly requests: Readonly<Record<string, SdkRequest>>;
}

export function loadSdkFixture(name: string): SdkFixture {
  return JSON.parse(readFileSync(new URL(`../fixtures/sdk/${name}`, import.meta.url), 'utf8')) as SdkFixture;
}

export const header = (r: SdkRequest, name: string): string | undefined =>
  r.headers.find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1];

export interface Replayed {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: any;
}

export interface ReplayChanges {
  readonly path?: string;
  readonly body?: string;
  /** Header name → new value (undefined removes the header). */
  readonly headers?: Readonly<Record<string, string | undefined>>;
}

/** Sends `r` (with `changes`) to `base`; Content-Length follows the body actually sent. */
export function replay(base: string, r: SdkRequest, changes: ReplayChanges = {}): Promise<Replayed> {
  const body = changes.body ?? r.body;
  const over = new Map(Object.entries(changes.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  const headers: [string, string][] = [];
  for (const [k, v] of r.headers) {
    const name = k.toLowerCase();
    const value = name === 'content-length' ? String(Buffer.byteLength(body)) : over.has(name) ? over.get(name) : v;
    if (value !== undefined) headers.push([k, value]);
  }
  for (const [k, v] of over) if (v !== undefined && !headers.some(([h]) => h.toLowerCase() === k)) headers.push([k, v]);
  return new Promise((resolve, reject) => {
    const req = request(`${base}${changes.path ?? r.path}`, { method: r.method, headers: Object.fromEntries(headers) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text === '' ? undefined : JSON.parse(text) });
      });
    });
    req.on('error', reject);
    req.end(body === '' ? undefined : body);
  });
}
