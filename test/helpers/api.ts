/**
 * REST API test kit: one API key per role (raw keys for requests, their digests for the
 * config), a config builder with a real SQLite store in a temp dir, a small JSON client, and a
 * hand-driven clock + timers for the buildApp seams.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { Timers } from '../../src/shared/runtime.js';

/** The SHA-256 hex of an API key, as an `api_keys` entry names it (`sha256:`). */
export const keyDigest = (key: string): string => createHash('sha256').update(key).digest('hex');

export const KEYS = {
  admin: 'k-admin-9d1f0c2a',
  finance: 'k-finance-77ab31',
  finance2: 'k-finance2-5c5c5c',
  lead: 'k-lead-0e0e0e',
  cfo: 'k-cfo-4242aa',
  billing: 'k-billing-agent-31337',
  viewer: 'k-viewer-aaaa11',
  gateway: 'k-gateway-edge-5150',
} as const;

/** `api_keys:` for KEYS (names are the approver names votes are recorded under). */
export const API_KEYS_YAML = `api_keys:
  - {name: ops, role: admin, sha256: "${keyDigest(KEYS.admin)}"}
  - {name: fred, role: approver, groups: [finance-manager], sha256: "${keyDigest(KEYS.finance)}"}
  - {name: fiona, role: approver, groups: [finance-manager], sha256: "${keyDigest(KEYS.finance2)}"}
  - {name: lee, role: approver, groups: [team-lead], sha256: "${keyDigest(KEYS.lead)}"}
  - {name: carla, role: approver, groups: [cfo], sha256: "${keyDigest(KEYS.cfo)}"}
  - {name: billing, role: agent, agent_id: billing-agent, sha256: "${keyDigest(KEYS.billing)}"}
  - {name: audit, role: viewer, sha256: "${keyDigest(KEYS.viewer)}"}
  - {name: edge, role: gateway, sha256: "${keyDigest(KEYS.gateway)}"}
`;

/** A config with a store at DIR/ascend.db, the test keys and `extra` YAML, ahead of `base`. */
export function storeConfig(dir: string, base: string, extra = ''): string {
  return `store: {path: ${JSON.stringify(join(dir, 'data', 'ascend.db'))}}\n${API_KEYS_YAML}${extra}\n${base}`;
}

export interface ApiResponse<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

/** JSON over real HTTP; `key` undefined sends no X-API-Key. */
export async function call<T = any>(base: string, method: string, path: string, key?: string, body?: unknown): Promise<ApiResponse<T>> {
  const headers: Record<string, string> = {};
  if (key !== undefined) headers['x-api-key'] = key;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${base}${path}`, { method, headers, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, body: text === '' ? undefined : JSON.parse(text), headers: res.headers };
}

/** A clock that moves only when told, and timers that fire when it passes their due time. */
export class ManualClock {
  private t: number;
  private seq = 0;
  private readonly due = new Map<number, { at: number; fn: () => void }>();

  constructor(start: number) {
    this.t = start;
  }

  readonly now = (): number => this.t;

  readonly timers: Timers = {
    setTimeout: (fn, ms) => {
      const id = ++this.seq;
      this.due.set(id, { at: this.t + Math.max(0, ms), fn });
      // Due already (a zero delay, e.g. a deadline the clock has passed): fire soon, as a real
      // timer would, not at the next advance(). Work that ends after an advance() arms these.
      if (ms <= 0) setImmediate(() => this.fire(id));
      return id;
    },
    clearTimeout: (id) => {
      this.due.delete(id as number);
    },
  };

  private fire(id: number): void {
    const d = this.due.get(id);
    if (d === undefined || d.at > this.t) return;
    this.due.delete(id);
    d.fn();
  }

  /** Moves the clock and fires every timer that fell due, earliest first. */
  advance(ms: number): void {
    this.t += ms;
    for (;;) {
      const next = [...this.due].filter(([, d]) => d.at <= this.t).sort((a, b) => a[1].at - b[1].at)[0];
      if (!next) return;
      this.due.delete(next[0]);
      next[1].fn();
    }
  }
}
