/**
 * server.heap_growth_percent really bounds V8's old space: the same allocation pattern (20 MB
 * live, then batches that live across a few scavenges and are promoted) peaks lower under 20 %
 * than under 300 %. Both are fixed factors, so V8's timing-based adaptive choice plays no part.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { applyHeapGrowth } from '../src/observability/heap.js';
import { writeConfig } from './helpers/app.js';
import { spawnSidecar } from './helpers/process.js';

const HEAP_JS = new URL('../dist/observability/heap.js', import.meta.url).href;

function peakHeapMiB(percent: number): number {
  const script = `
    import { applyHeapGrowth } from ${JSON.stringify(HEAP_JS)};
    import v8 from 'node:v8';
    applyHeapGrowth(${percent});
    const live = [];
    for (let i = 0; i < 300000; i++) live.push({ i, s: 'x' + i });
    let peak = 0; const keep = [];
    for (let r = 0; r < 200; r++) {
      keep.push(Array.from({ length: 20000 }, (_, k) => ({ k, r })));
      if (keep.length > 8) keep.shift();
      peak = Math.max(peak, v8.getHeapStatistics().total_heap_size);
    }
    process.stdout.write(String(peak / 2 ** 20) + ' ' + live.length);`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return Number(r.stdout.split(' ')[0]);
}

describe('heap growth', () => {
  it('a lower heap_growth_percent keeps the heap smaller under the same load', () => {
    const tight = peakHeapMiB(20);
    const loose = peakHeapMiB(300);
    expect(tight).toBeLessThan(loose * 0.85);
  });

  it('leaves the setting alone when node was started with --heap-growing-percent', () => {
    expect(applyHeapGrowth(50, ['--heap-growing-percent=80'])).toBeUndefined();
    expect(applyHeapGrowth(0, [])).toBe(0);
  });

  it('serve applies the config value and says so at start (default 50)', async () => {
    const quickstart = readFileSync(new URL('../examples/quickstart.yaml', import.meta.url), 'utf8');
    for (const [server, expected] of [['{grpc_port: 9191, http_port: 8181, heap_growth_percent: 70}', 70], ['{grpc_port: 9191, http_port: 8181}', 50]] as const) {
      const { path } = writeConfig(quickstart.replace('server: {grpc_port: 9191, http_port: 8181}', `server: ${server}`));
      const s = await spawnSidecar(path, ['--no-watch']);
      try {
        const line = await s.waitForLine((l) => l.msg === 'ascend-sidecar listening');
        expect(line.heap_growth_percent).toBe(expected);
      } finally {
        await s.stop('SIGTERM');
      }
    }
  });
});
