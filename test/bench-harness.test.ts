// The pure parts of the benchmark harness (bench/lib): gRPC framing, the CheckRequests the load
// generators send, the generated big configs, and the HTTP/2 bits of the raw load client.
// No load, no sockets, no timing.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import {
  adminDeny, decodeFrame, encodeFrame, frame, freshTemplate, mixFrames, patchFresh, refund, splitFrames, unframe,
} from '../bench/lib/frames.mjs';
import { AUTH_PROTO, REPO, loadTypes } from '../bench/lib/protos.mjs';
import { generateConfig, generateConfigYaml } from '../bench/lib/gen-config.mjs';
import { grpcRequestBlocks, hpackInt, readResponseBlock, walkHeaderBlock } from '../bench/lib/h2wire.mjs';
import { parseH2loadLog, parseH2loadOutput, parseH2loadRequests } from '../bench/lib/h2load.mjs';
import { gcSummary } from '../bench/lib/gc-trace.mjs';

describe('gRPC frames', () => {
  it('prefixes a message with flag 0 and its big-endian length', () => {
    const msg = Buffer.alloc(300, 7);
    const f = frame(msg);
    expect(f.length).toBe(305);
    expect(f[0]).toBe(0);
    expect(f.readUInt32BE(1)).toBe(300);
    expect(unframe(f).equals(msg)).toBe(true);
  });

  it('splits back-to-back frames and rejects truncated ones', () => {
    const pack = Buffer.concat([frame(Buffer.from('a')), frame(Buffer.alloc(0)), frame(Buffer.from('bcd'))]);
    expect(splitFrames(pack).map((f) => f.subarray(5).toString())).toEqual(['a', '', 'bcd']);
    expect(() => splitFrames(pack.subarray(0, pack.length - 1))).toThrow(/truncated/);
  });

  it('encodes the cached-allow refund (~220 bytes) and decodes it back', () => {
    const f = encodeFrame(refund());
    expect(f.readUInt32BE(1)).toBe(f.length - 5);
    expect(f.length - 5).toBeGreaterThan(200);
    expect(f.length - 5).toBeLessThan(240);
    const http = decodeFrame(f).attributes.request.http;
    expect(http).toMatchObject({ method: 'POST', path: '/v1/refunds/r-1?amount=50', host: 'payments.internal' });
    expect(Object.keys(http.headers).sort()).toEqual(['content-type', 'user-agent', 'x-agent-id', 'x-request-id']);
    expect(http.headers['x-agent-id']).toBe('billing-agent');
  });

  it('encodes the deny request', () => {
    expect(decodeFrame(encodeFrame(adminDeny())).attributes.request.http).toMatchObject({ method: 'GET', path: '/admin/users' });
  });

  it('builds 1,000 distinct allowed refunds', () => {
    const frames = mixFrames(1000);
    const paths = frames.map((f) => decodeFrame(f).attributes.request.http.path as string);
    expect(new Set(paths).size).toBe(1000);
    for (const p of paths) {
      const amount = Number(new URL(p, 'http://x').searchParams.get('amount'));
      expect(amount).toBeGreaterThanOrEqual(1);
      expect(amount).toBeLessThanOrEqual(1000); // ≤ 1000: allowed, never an approval
    }
  });

  it('mints fresh requests by patching fixed-width ids in a template', () => {
    const tpl = freshTemplate();
    const a = patchFresh(tpl, 42);
    const b = patchFresh(tpl, 123456789);
    expect(a.length).toBe(tpl.frame.length);
    expect(decodeFrame(a).attributes.request.http.path).toBe('/v1/refunds/f-000000042?amount=50');
    expect(decodeFrame(b).attributes.request.http.path).toBe('/v1/refunds/f-123456789?amount=50');
    expect(() => patchFresh(tpl, 1e10)).toThrow(/digits/);
  });

  it('is byte-identical whichever proto source built it (Envoy\'s; the project\'s once protos/ exists)', () => {
    const sources = ['envoy', ...(existsSync(path.join(REPO, 'protos', AUTH_PROTO)) ? ['project'] : [])];
    const [first, ...rest] = sources.map((s) => encodeFrame(refund(), loadTypes(s)));
    for (const other of rest) expect(other.equals(first!)).toBe(true);
  });
});

describe('generated configs', () => {
  it.each([
    [10, 20],
    [1000, 1000],
  ])('has exactly %i policies and %i routes, contract entries last', (policies, routes) => {
    const doc = YAML.parse(generateConfigYaml({ policies, routes, cache: 'disabled' }));
    expect(doc.policies).toHaveLength(policies);
    expect(doc.routes).toHaveLength(routes);
    expect(new Set(doc.policies.map((p: { id: string }) => p.id)).size).toBe(policies);
    expect(doc.cache).toEqual({ enabled: false });
    // The benched requests still meet their route and policy, after every generated entry.
    expect(doc.routes.at(-3)).toMatchObject({ match: { methods: ['POST'], path: '/v1/refunds/{refund_id}' }, action_type: 'payments.refund' });
    expect(doc.routes.at(-1)).toMatchObject({ match: { path: '/admin/**' }, action_type: 'admin.access' });
    expect(doc.policies.map((p: { id: string }) => p.id)).toEqual(expect.arrayContaining(['pol_refund_small', 'pol_admin_deny']));
    for (const r of doc.routes.slice(0, -3)) expect(r.match.path).toMatch(/^\/svc\d+\/items\/\{id\}$/);
  });

  it('scales to 10,000 policies (object form; the YAML round trip is checked above)', () => {
    const doc = generateConfig({ policies: 10000, routes: 1000 });
    expect(doc.policies).toHaveLength(10000);
    expect(new Set(doc.policies.map((p: { conditions: { action_type: string } }) => p.conditions.action_type)).size).toBeGreaterThan(9000);
  });

  it('adds glob policies that do not decide the benched refund', () => {
    const doc = generateConfig({ policies: 1000, routes: 20 });
    const globs = doc.policies.filter((p: { conditions: { action_type: string } }) => p.conditions.action_type.endsWith('*'));
    expect(globs.length).toBeGreaterThan(0);
    const pay = globs.find((p: { conditions: { action_type: string } }) => p.conditions.action_type === 'pay*');
    expect(pay.conditions['agent.type']).toBe('autonomous'); // billing-agent is supervised
  });

  it('disables the cache either way, or tunes it', () => {
    expect(generateConfig({ cache: 'ttl0' }).cache).toEqual({ ttl_ms: 0, max_entries: 100000 });
    expect(generateConfig({ cache: 'on', ttlMs: 3600000, maxEntries: 50 }).cache).toEqual({ ttl_ms: 3600000, max_entries: 50 });
    expect(() => generateConfig({ policies: 2 })).toThrow(/policies must be/);
  });
});

describe('raw HTTP/2 client pieces', () => {
  it('encodes HPACK integers as RFC 7541 C.1', () => {
    expect(hpackInt(10, 5, 0)).toEqual([10]);
    expect(hpackInt(1337, 5, 0)).toEqual([31, 154, 10]);
    expect(hpackInt(31, 4, 0)).toEqual([15, 16]);
  });

  it('walks its own request blocks: literal, indexing, then indexed', () => {
    const blocks = grpcRequestBlocks('127.0.0.1:9191', '/envoy.service.auth.v3.Authorization/Check');
    const walk = (b: Buffer) => {
      const seen: Array<[number, string | undefined, string | undefined]> = [];
      walkHeaderBlock(b, (i, n, v) => { seen.push([i, n?.bytes.toString(), v?.bytes.toString()]); });
      return seen;
    };
    const fields = [
      [3, undefined, undefined], [6, undefined, undefined],
      [4, undefined, '/envoy.service.auth.v3.Authorization/Check'], [1, undefined, '127.0.0.1:9191'],
      [31, undefined, 'application/grpc'], [0, 'te', 'trailers'],
    ];
    expect(walk(blocks.literal)).toEqual(fields);
    expect(walk(blocks.first)).toEqual(fields);
    expect(blocks.first[2]! & 0xc0).toBe(0x40); // with incremental indexing
    // Inserted :path, :authority, content-type, te → dynamic indices 65, 64, 63, 62.
    expect(walk(blocks.indexed).map(([i]) => i)).toEqual([3, 6, 65, 64, 63, 62]);
    expect(blocks.tableBytes).toBe(4 * 32 + 5 + 42 + 10 + 14 + 12 + 16 + 2 + 8);
  });

  it('reads :status and a raw grpc-status from a response block', () => {
    expect(readResponseBlock(Buffer.from([0x88])).status200).toBe(true);
    expect(readResponseBlock(Buffer.from([0x8d])).status200).toBe(false); // 404
    const trailers = Buffer.concat([Buffer.from([0x00, 11]), Buffer.from('grpc-status'), Buffer.from([1]), Buffer.from('7')]);
    expect(readResponseBlock(trailers).grpcStatus).toBe(7);
    const learned = { huffman: true, bytes: Buffer.from([1, 2, 3]) };
    const huff = Buffer.from([0x00, 0x83, 1, 2, 3, 1, 0x30]);
    expect(readResponseBlock(huff, learned).grpcStatus).toBe(0);
    expect(readResponseBlock(huff).grpcStatus).toBeUndefined();
  });
});

describe('h2load output', () => {
  it('parses the summary and the per-request log', () => {
    const text = 'finished in 506.12ms, 17344.00 req/s, 793.41KB/s\n' +
      'requests: 8672 total, 9184 started, 8672 done, 8672 succeeded, 0 failed, 0 errored, 0 timeout\n' +
      'status codes: 9056 2xx, 0 3xx, 0 4xx, 0 5xx\n';
    expect(parseH2loadOutput(text)).toMatchObject({ seconds: 0.50612, rps: 17344, requests: 8672, failed: 0, status2xx: 9056 });
    expect(parseH2loadLog('1795558730381206\t200\t36959\n1795558730381207\t200\t122\n')).toEqual([36959, 122]);
    expect(parseH2loadRequests('1795558730381206\t200\t36959\n')).toEqual([{ startMs: 1795558730381.206, us: 36959 }]);
  });
});

describe('--trace-gc-nvp reading (gc-probe, stream-probe)', () => {
  // Shortened lines as node 20 prints them; the fields between are left out.
  const trace = [
    '[24142:0x1e132780]       73 ms: pause=1.5 mutator=64.8 gc=s reduce_memory=0 scavenge=1.34 allocated=12306456 promoted=1593600 new_space_survived=1799408 nodes_promoted=0',
    '[24142:0x1e132780]      608 ms: pause=10.5 mutator=41.4 gc=mc reduce_memory=0 heap.prologue=0.00 total_size_before=36308888 promoted=999',
    'some line the server printed: promoted=7 pause=3.0',
    '[24142:0x1e132780]      690 ms: pause=12.25 mutator=20.1 gc=s reduce_memory=0 promoted=406400 new_space_survived=1',
    '[24142:0x1e132780]      700 ms: pause=4.0 mutator=1.0 gc=mmc reduce_memory=0 promoted=5',
  ].join('\n');

  it('counts scavenges and mark-compacts with their longest pause, and sums what scavenges promoted', () => {
    expect(gcSummary(trace)).toEqual({ scavenges: { n: 2, max: 12.25 }, full: { n: 1, max: 10.5 }, promoted: 1593600 + 406400 });
    expect(gcSummary('')).toEqual({ scavenges: { n: 0, max: 0 }, full: { n: 0, max: 0 }, promoted: 0 });
  });
});
