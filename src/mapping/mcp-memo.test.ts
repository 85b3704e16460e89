import { describe, expect, it } from 'vitest';
import { runtimeFromText } from '../config/runtime.js';
import { RequestError } from '../core/errors.js';
import { normalize } from '../gateway/normalize.js';
import { bodyDigest, McpMemo, shapeDigest } from './mcp-memo.js';
import { idSpan } from './json-rpc-id.js';
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
    expect(memo.get(a, 'ab', 1e6)).toMatchObject({ body: parsed, message, digest: bodyDigest('ab') });
    expect(memo.get(b, 'ab', 1e6)).toBeUndefined();
    expect(memo.get(a, 'ac', 1e6)).toBeUndefined();
    expect(memo.get(a, 'ab ', 1e6)).toBeUndefined();
    // 40 characters: every second one from the end is sampled, so these two share a slot.
    const x = `A${'y'.repeat(39)}`;
    const y = `B${'y'.repeat(39)}`;
    memo.put(a, x, parsed, message);
    expect(memo.get(a, y, 1e6)).toBeUndefined();
    memo.put(a, y, parsed, message);
    expect([memo.get(a, x, 1e6), memo.get(a, y, 1e6)?.digest]).toEqual([undefined, bodyDigest(y)]);
  });

  it('freezes what it shares, keeps nothing longer than maxChars, evicts the oldest past capacity', () => {
    const memo = new McpMemo(2, 4);
    const owner = {};
    const mine = { partial: false as const, format: 'json' as const, value: { a: { b: [1] } } };
    memo.put(owner, 'x', mine, message);
    expect(Object.isFrozen(mine.value.a.b)).toBe(false); // the first request's own
    memo.get(owner, 'x', 1e6);
    expect(Object.isFrozen(mine.value.a.b)).toBe(true); // shared from the second on
    const long = memo.put(owner, 'abcde', { partial: false, format: 'json', value: { z: 1 } }, message);
    expect(long.digest).toBe(bodyDigest('abcde'));
    expect(memo.get(owner, 'abcde', 1e6)).toBeUndefined();
    memo.put(owner, '1', parsed, message);
    memo.put(owner, '2', parsed, message);
    memo.put(owner, '3', parsed, message);
    expect([memo.get(owner, '1', 1e6), memo.get(owner, '2', 1e6) !== undefined, memo.get(owner, '3', 1e6) !== undefined]).toEqual([undefined, true, true]);
  });
});

describe('MCP mapping through the memo', () => {
  it('a repeated text maps to the same actions and key as its first parse', () => {
    const rt = runtimeFromText(CONFIG, 'memo.yaml', 1);
    const body = call(7, { sql: 'select 1', limit: 5 });
    const first = mapBody(rt, body);
    const again = mapBody(rt, body);
    expect(again.mcp?.inputs[0]?.body).toBe(first.mcp?.inputs[0]?.body); // from the memo
    expect(again.mcp?.inputs[0]?.action).toEqual(first.mcp?.inputs[0]?.action);
    expect(rt.fingerprint(again.mcp?.inputs[0] as never)).toBe(rt.fingerprint(first.mcp?.inputs[0] as never));
  });

  it('another id: the same key and arguments, its own id in the body, the calls and the answer', () => {
    const rt = runtimeFromText(CONFIG, 'memo.yaml', 1);
    const key = (t: string) => rt.fingerprint(mapBody(rt, t).mcp?.inputs[0] as never);
    const body = call(7, { sql: 'select 1', limit: 5 });
    const first = mapBody(rt, body);
    for (const id of [8, 'req-9', null, -1.5e3]) {
      const text = body.replace('"id":7', `"id":${JSON.stringify(id)}`);
      const m = mapBody(rt, text);
      expect(m.mcp?.ids).toEqual([id]);
      expect(m.mcp?.inputs[0]?.body).toEqual({ partial: false, format: 'json', value: JSON.parse(text) });
      expect(m.mcp?.inputs[0]?.action).toEqual(first.mcp?.inputs[0]?.action);
      expect(key(text)).toBe(key(body));
      // Answered by the memo, not parsed afresh: the arguments are the first parse's own object.
      const params = (r: typeof m) => (r.mcp?.inputs[0]?.body as { value: { params: unknown } }).value.params;
      expect(params(m)).toBe(params(first));
    }
    // Whitespace, member order, other arguments: keyed apart (a miss, never a share).
    const keys = new Set([body, body.replace(',"method"', ', "method"'), call(7, { limit: 5, sql: 'select 1' }), call(7, { sql: 'select 2', limit: 5 })].map(key));
    expect(keys.size).toBe(4);
  });

  it('an id that is not a JSON-RPC id, or a text that is no longer JSON, is parsed and refused as without the memo', () => {
    const rt = runtimeFromText(CONFIG, 'memo.yaml', 1);
    const body = call(7, { q: 1 });
    mapBody(rt, body);
    for (const id of ['true', '{"a":1}', '[1]', '1e999', '07', '1 2', '"x\\"']) {
      const text = body.replace('"id":7', `"id":${id}`);
      let err: unknown;
      try {
        mapBody(rt, text);
      } catch (e) {
        err = e;
      }
      expect((err as RequestError | undefined)?.code, text).toBe('invalid_mcp');
    }
  });

  it('a body over limits.max_body_bytes is refused though the same call with a shorter id is kept', () => {
    const rt = runtimeFromText(`${CONFIG}\nlimits: {max_body_bytes: 200}`, 'memo.yaml', 1);
    const body = call(1, { q: 'x'.repeat(100) });
    expect(body.length).toBeLessThan(200);
    mapBody(rt, body);
    expect(() => mapBody(rt, body.replace('"id":1', `"id":"${'i'.repeat(120)}"`))).toThrow(/larger than 200 bytes/);
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
    expect(mapBody(rt, big).mcp?.inputs[0]?.parametersKey).toBe(`0:${shapeDigest(big, idSpan(big)!)}`);
    const batch = `[${big}]`;
    expect(mapBody(rt, batch).mcp?.inputs[0]?.parametersKey).toBe(`0:${bodyDigest(batch)}`);
  });
});

describe('idSpan', () => {
  const at = (t: string) => { const s = idSpan(t); return s && t.slice(s.start, s.end); };
  it.each([
    ['{"jsonrpc":"2.0","id":42,"method":"ping"}', '42'],
    [' { "id" : "a\\"b" , "params": {"id": 1, "x": ["}", "{"]} } \n', '"a\\"b"'],
    ['{"method":"ping","params":[1,{"a":"]"}],"id":null}', 'null'],
    ['{"id":-1.5e3}', '-1.5e3'],
  ])('finds the top-level id in %s', (t, want) => {
    expect(at(t)).toBe(want);
  });
  it.each([
    '[{"id":1}]', '{"id":1,"id":2}', '{"i\\u0064":1,"id":2}', '{"id":{"a":1}}', '{"id":true}', '{"id":1} x',
    '{"method":"ping"}', '{"id":1', '{"id":"open}', '{"a":[1,2}', '{"id" 1}', '"id"', '',
  ])('gives none for %s', (t) => {
    expect(idSpan(t)).toBeUndefined();
  });
});
