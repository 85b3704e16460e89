import { describe, expect, it } from 'vitest';
import { runtimeFromText } from '../config/runtime.js';
import { RequestError } from '../core/errors.js';
import { normalize } from '../gateway/normalize.js';
import { bodyDigest, McpMemo } from './mcp-memo.js';
import type { McpMessage } from './mcp.js';

const CONFIG = `
routes:
  - match: {methods: [POST], path: "/mcp/{server}"}
    mcp: {}
    action_type: "mcp.{server}.{mcp.tool}"
    resource: "{mcp.tool}"
  - match: {methods: [POST], path: "/other/{server}"}
    mcp: {govern: [ping]}
    action_type: "mcp.{server}.{mcp.method}"
    resource: "{mcp.method}"
policies: []
`;

const call = (id: number, args: Record<string, unknown>) => JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'query', arguments: args } });

function mapBody(rt: ReturnType<typeof runtimeFromText>, body: string, o: { path?: string; partial?: boolean } = {}) {
  const req = normalize({
    adapter: 'envoy', method: 'POST', target: o.path ?? '/mcp/db', host: 'api.local', body,
    headers: { 'content-type': 'application/json', ...(o.partial ? { 'x-envoy-auth-partial-body': 'true' } : {}) },
  });
  return rt.mapper.map(req);
}

const message: McpMessage = { calls: [], ids: [1], batch: false, firstMethod: 'ping' };
const parsed = { partial: false as const, format: 'json' as const, value: { a: { b: [1] } } };

describe('McpMemo', () => {
  it('answers only the exact text on the same route; a slot shared with another text is a miss', () => {
    const memo = new McpMemo(8, 1024);
    const a = {};
    const b = {};
    const kept = memo.put(a, 'ab', parsed, message);
    expect(kept.digest).toBe(bodyDigest('ab'));
    expect(memo.get(a, 'ab')).toMatchObject({ body: parsed, message, digest: bodyDigest('ab') });
    expect(memo.get(b, 'ab')).toBeUndefined();
    expect(memo.get(a, 'ac')).toBeUndefined();
    expect(memo.get(a, 'ab ')).toBeUndefined();
    // 40 characters: every second one from the end is sampled, so these two share a slot.
    const x = `A${'y'.repeat(39)}`;
    const y = `B${'y'.repeat(39)}`;
    memo.put(a, x, parsed, message);
    expect(memo.get(a, y)).toBeUndefined();
    memo.put(a, y, parsed, message);
    expect([memo.get(a, x), memo.get(a, y)?.digest]).toEqual([undefined, bodyDigest(y)]);
  });

  it('freezes what it shares, keeps nothing longer than maxChars, evicts the oldest past capacity', () => {
    const memo = new McpMemo(2, 4);
    const owner = {};
    const mine = { partial: false as const, format: 'json' as const, value: { a: { b: [1] } } };
    memo.put(owner, 'x', mine, message);
    expect(Object.isFrozen(mine.value.a.b)).toBe(false); // the first request's own
    memo.get(owner, 'x');
    expect(Object.isFrozen(mine.value.a.b)).toBe(true); // shared from the second on
    const long = memo.put(owner, 'abcde', { partial: false, format: 'json', value: { z: 1 } }, message);
    expect(long.digest).toBe(bodyDigest('abcde'));
    expect(memo.get(owner, 'abcde')).toBeUndefined();
    memo.put(owner, '1', parsed, message);
    memo.put(owner, '2', parsed, message);
    memo.put(owner, '3', parsed, message);
    expect([memo.get(owner, '1'), memo.get(owner, '2') !== undefined, memo.get(owner, '3') !== undefined]).toEqual([undefined, true, true]);
  });
});

describe('MCP mapping through the memo', () => {
  it('a repeated text maps to the same actions and key as its first parse; any other text to its own key', () => {
    const rt = runtimeFromText(CONFIG, 'memo.yaml', 1);
    const body = call(7, { sql: 'select 1', limit: 5 });
    const first = mapBody(rt, body);
    const again = mapBody(rt, body);
    expect(again.mcp?.inputs[0]?.body).toBe(first.mcp?.inputs[0]?.body); // from the memo
    expect(again.mcp?.inputs[0]?.action).toEqual(first.mcp?.inputs[0]?.action);
    expect(rt.fingerprint(again.mcp?.inputs[0] as never)).toBe(rt.fingerprint(first.mcp?.inputs[0] as never));
    // Another id, whitespace or member order: parsed afresh, keyed apart (a miss, never a share).
    const keys = new Set([body, call(8, { sql: 'select 1', limit: 5 }), body.replace(',"id"', ', "id"'), call(7, { limit: 5, sql: 'select 1' })]
      .map((t) => rt.fingerprint(mapBody(rt, t).mcp?.inputs[0] as never)));
    expect(keys.size).toBe(4);
    // Different arguments never share a key.
    expect(rt.fingerprint(mapBody(rt, call(7, { sql: 'select 2', limit: 5 })).mcp?.inputs[0] as never)).not.toBe(rt.fingerprint(first.mcp?.inputs[0] as never));
  });

  it('a text kept by the memo, marked partial, is still body_truncated; another route parses it under its own govern list', () => {
    const rt = runtimeFromText(CONFIG, 'memo.yaml', 1);
    const ping = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' });
    expect(mapBody(rt, ping).mcp?.inputs).toHaveLength(0);
    expect(mapBody(rt, ping, { path: '/other/db' }).mcp?.inputs).toHaveLength(1);
    const body = call(1, { q: 1 });
    mapBody(rt, body);
    let err: unknown;
    try {
      mapBody(rt, body, { partial: true });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RequestError);
    expect((err as RequestError).code).toBe('body_truncated');
  });

  it('bodies too large for the memo get the same key scheme', () => {
    const rt = runtimeFromText(CONFIG, 'memo.yaml', 1);
    const big = call(1, { note: 'x'.repeat(20_000) });
    const a = rt.fingerprint(mapBody(rt, big).mcp?.inputs[0] as never);
    expect(rt.fingerprint(mapBody(rt, big).mcp?.inputs[0] as never)).toBe(a);
    expect(mapBody(rt, big).mcp?.inputs[0]?.parametersKey).toBe(`0:${bodyDigest(big)}`);
  });
});
