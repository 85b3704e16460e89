// What `npm run bench` measures: server definitions and gRPC scenarios, as data.
//
// Every scenario is a pair of sides, A = baseline and B = candidate, each a server id and a
// driver; both sides of a scenario use the same driver and load shape, so their ratio compares
// servers, not tools. `short: true` scenarios make the default run (< 3 minutes); --full runs all.
// Sidecar scenarios are skipped, with the reason, until dist/cli.js starts and answers /readyz.
import { sidecarArgv } from './lib/servers.mjs';

const NODE = process.execPath;

/** Server definitions. `cacheOff` picks how generated configs disable the cache. */
export function grpcServers({ cacheOff = 'disabled' } = {}) {
  const grpcBare = { argv: () => [NODE, 'bench/baseline/grpc-bare.mjs', '--port', '{grpcPort}'], ready: 'grpc-check', constant: true };
  const sidecar = (config) => ({ argv: sidecarArgv, config, ready: 'sidecar', requires: 'sidecar', metrics: true });
  const servers = {
    'grpc-bare': grpcBare,
    'grpc-bare-2': grpcBare,
    'h2-raw': { ...grpcBare, argv: () => [NODE, 'bench/baseline/h2-raw.mjs', '--port', '{grpcPort}'] }, // a second, independent process for the self-check
    'sidecar-core': sidecar({ file: 'bench/configs/core.yaml' }),
    // The same config on the previous gRPC transport (node:http2), for transport A/B runs.
    'sidecar-core-native': sidecar({ file: 'bench/configs/core-native.yaml' }),
    // core.yaml plus the MCP route and policies of examples/mcp.yaml.
    'sidecar-mcp': { ...sidecar({ file: 'bench/configs/mcp.yaml' }), readyTimeoutMs: 60000 },
    // serve --workers 2: node:cluster, both workers on the shared ports.
    'sidecar-core-w2': { ...sidecar({ file: 'bench/configs/core.yaml' }), argv: () => [...sidecarArgv(), '--workers', '2'] },
  };
  for (const p of [10, 1000, 10000]) for (const r of [20, 1000]) {
    servers[`sidecar-nocache-p${p}-r${r}`] = sidecar({ generate: { policies: p, routes: r, cache: cacheOff } });
  }
  return servers;
}

const BARE = { server: 'grpc-bare', driver: 'h2load' };
const side = (server, driver = 'h2load') => ({ server, driver });

export function grpcScenarios() {
  const list = [
    // ── method checks (need no sidecar) ──
    { name: 'selfcheck-saturation', title: 'grpc-bare vs a 2nd grpc-bare: the method\'s noise (expect ≈ 1.0)', short: true,
      a: BARE, b: side('grpc-bare-2'), mode: 'saturation', body: 'allow', ratio: 'rps' },
    { name: 'selfcheck-serial', title: 'grpc-bare vs grpc-bare, serial 1×1 (p99 ratio)',
      a: BARE, b: side('grpc-bare-2'), mode: 'serial', body: 'allow', ratio: 'p99' },
    { name: 'selfcheck-fixed', title: 'grpc-bare vs grpc-bare, fixed 2,000 req/s (p90 ratio)',
      a: BARE, b: side('grpc-bare-2'), mode: 'fixed', body: 'allow', ratio: 'p90' },
    { name: 'h2client-vs-h2load', title: 'same grpc-bare, h2load (A) vs bench h2client (B): is h2client trustworthy?',
      a: BARE, b: side('grpc-bare', 'h2client'), mode: 'saturation', body: 'allow', ratio: 'rps' },
    { name: 'h2client-mix-vs-h2load', title: 'same grpc-bare, h2load one frame (A) vs h2client cycling 1,000 frames (B)',
      a: BARE, b: { ...side('grpc-bare', 'h2client'), body: 'mix' }, mode: 'saturation', body: 'allow', ratio: 'rps' },
    { name: 'h2-raw-vs-bare', title: 'node:http2 constant answer (no grpc-js) vs bare grpc-js: what grpc-js costs',
      a: BARE, b: side('h2-raw'), mode: 'saturation', body: 'allow', ratio: 'rps' },
    // ── sidecar vs bare grpc-js (issue 5 targets in the titles) ──
    { name: 'cached-allow', title: 'cached allow, core.yaml, 16×32 (target ≥ 1.0×)', short: true,
      a: BARE, b: side('sidecar-core'), mode: 'saturation', body: 'allow', expect: 'allow', ratio: 'rps' },
    { name: 'cached-allow-serial', title: 'cached allow, serial 1×1 (target p99 ≤ 0.5 ms)', short: true,
      a: BARE, b: side('sidecar-core'), mode: 'serial', body: 'allow', expect: 'allow', ratio: 'p99' },
    { name: 'cached-allow-fixed', title: 'cached allow at a fixed 2,000 req/s (p90 ratio)',
      a: BARE, b: side('sidecar-core'), mode: 'fixed', body: 'allow', expect: 'allow', ratio: 'p90' },
    { name: 'deny', title: 'deny GET /admin/users, core.yaml, 16×32',
      a: BARE, b: side('sidecar-core'), mode: 'saturation', body: 'deny', expect: 'deny', ratio: 'rps' },
    { name: 'h2-vs-native', title: 'cached allow: gRPC transport h2 (B, default) vs native on node:http2 (A), 16×32',
      a: side('sidecar-core-native'), b: side('sidecar-core'), mode: 'saturation', body: 'allow', expect: 'allow', ratio: 'rps' },
    // Issue 18 item 7: what reading an MCP body costs, on one sidecar config (both sides cached).
    { name: 'mcp-4k-vs-nobody', title: 'MCP tools/call with a 4 KiB JSON body (B) vs the no-body refund (A), both cached, 16×32 (target ≥ 0.5×)',
      a: { ...side('sidecar-mcp'), body: 'allow' }, b: { ...side('sidecar-mcp'), body: 'mcp-4k' }, mode: 'saturation', body: 'allow', expect: 'allow', ratio: 'rps' },
    { name: 'body-4k-unread', title: 'the refund carrying a 4 KiB body nothing reads (B) vs without (A), mcp.yaml: the transport and decoder share of mcp-4k-vs-nobody',
      a: side('sidecar-mcp'), b: { ...side('sidecar-mcp'), body: 'allow-4k-unread' }, mode: 'saturation', body: 'allow', expect: 'allow', ratio: 'rps' },
    // Needs the server on both cores: BENCH_SERVER_CPU=0,1 BENCH_LOAD_CPU=0,1 (the load generator
    // then competes with the workers for the same two cores; see bench/README.md).
    { name: 'workers-2-vs-1', title: 'serve --workers 2 (B) vs one worker (A), cached allow, 16×32 (target ≥ 1.7×)',
      a: side('sidecar-core'), b: side('sidecar-core-w2'), mode: 'saturation', body: 'allow', expect: 'allow', ratio: 'rps' },
    { name: 'mix-1000', title: '1,000 distinct refunds round-robin (h2client both sides)', short: true,
      a: side('grpc-bare', 'h2client'), b: side('sidecar-core', 'h2client'), mode: 'saturation', body: 'mix', expect: 'allow', ratio: 'rps' },
    { name: 'mix-1000-fresh25', title: 'the mix with every 4th request never seen before (hit ratio ≤ 75 %)',
      a: side('grpc-bare', 'h2client'), b: side('sidecar-core', 'h2client'), mode: 'saturation', body: 'mix', freshEvery: 4, expect: 'allow', ratio: 'rps' },
  ];
  for (const p of [10, 1000, 10000]) for (const r of [20, 1000]) {
    const target = p === 1000 && r === 1000 ? ' (target ≥ 0.7×)' : '';
    list.push({ name: `nocache-p${p}-r${r}`, title: `cache disabled, ${p} policies, ${r} routes${target}`, short: p === 1000 && r === 1000,
      a: BARE, b: side(`sidecar-nocache-p${p}-r${r}`), mode: 'saturation', body: 'allow', expect: 'allow', ratio: 'rps' });
  }
  return list;
}
