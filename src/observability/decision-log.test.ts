/**
 * The decision log's cached line start (DecisionLog.head: `{"level":30,"time":MS,…`, built once
 * per millisecond): under a controlled clock, each line carries the millisecond it was written
 * in — across a change of millisecond (and a clock stepped back) the start is built again, never
 * the last one reused — and within one millisecond the one start is shared.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_REDACTION, Redaction } from './redact.js';
import type { CheckResult } from '../pipeline/result.js';
import type { Decision } from '../core/decision.js';
import { DecisionLog } from './decision-log.js';
import { FdDestination } from './fd-destination.js';
import { LineBuffer, StringLines } from './line-buffer.js';
import { checkResultOf, decisionOf } from '../../test/helpers/decisions.js';
import { tempDir } from '../../test/helpers/tmp.js';

const N = 1_765_000_000_123;
/** The clock read per line, in order: ms N twice, N+1 twice, N again (stepped back), N+2. */
const CLOCK = [N, N, N + 1, N + 1, N, N + 2];

/** Writes one line per CLOCK reading, Date.now() answering it; returns the head object each line used. */
function writeLines(log: DecisionLog): unknown[] {
  const now = vi.spyOn(Date, 'now');
  const heads: unknown[] = [];
  const d = decisionOf();
  CLOCK.forEach((ms, i) => {
    now.mockReturnValueOnce(ms);
    log.record(checkResultOf(d, `act-${i}`));
    heads.push((log as unknown as { head: unknown }).head);
  });
  expect(now).toHaveBeenCalledTimes(CLOCK.length);
  return heads;
}

function expectTimes(text: string): void {
  const lines = text.trimEnd().split('\n').map((l) => JSON.parse(l) as { time: number; action_id: string; level: number; kind: string });
  expect(lines.map((l) => [l.action_id, l.time])).toEqual(CLOCK.map((ms, i) => [`act-${i}`, ms]));
  for (const l of lines) expect([l.level, l.kind]).toEqual([30, 'decision']);
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("the decision log's per-millisecond line start", () => {
  it('carries the millisecond each line was written in (string lines)', () => {
    let text = '';
    const log = new DecisionLog({ write: (s: string) => (text += s) } as never, { enabled: true, includeHeaders: false, redaction: () => DEFAULT_REDACTION });
    const heads = writeLines(log);
    expectTimes(text);
    // Shared within a millisecond; a new one at each change (also back to an earlier one).
    expect(heads[1]).toBe(heads[0]);
    expect(heads[2]).not.toBe(heads[1]);
    expect(heads[3]).toBe(heads[2]);
    expect(heads[4]).not.toBe(heads[3]);
    expect(heads[4]).not.toBe(heads[0]);
    expect(heads[5]).not.toBe(heads[4]);
  });

  it('carries the millisecond each line was written in (batched bytes, as the server writes)', () => {
    const file = join(tempDir('decision-log-'), 'decisions.log');
    const dest = new FdDestination(file);
    const log = new DecisionLog(dest, { enabled: true, includeHeaders: false, batch: true, redaction: () => DEFAULT_REDACTION });
    writeLines(log);
    log.flush();
    expectTimes(readFileSync(file, 'utf8'));
  });
});

describe("the decision log's repeated runs (the line before's bytes copied whole)", () => {
  const action = (resource: string, agent: string | null = 'billing-agent') =>
    ({ agent_id: agent, action_type: 'payments.refund', resource, parameters: {} }) as unknown as NonNullable<CheckResult['action']>;
  const request = (rawTarget: string, path = '/v1/refunds/r-1', over: Record<string, unknown> = {}) => ({
    method: 'POST', path, rawTarget, query: rawTarget.includes('?') ? { [rawTarget.split('?')[1]!.split('=')[0]!]: 'x' } : {}, headers: {}, requestId: 'req-1', ...over,
  }) as unknown as NonNullable<CheckResult['request']>;
  /**
   * Runs of three equal results, each run differing from the one before in one value (so a
   * memo that ignored it would copy the run before's bytes), and coming back to `base`.
   */
  function results(): CheckResult[] {
    const allow = decisionOf();
    const deny = decisionOf({ decision: 'denied', code: 'policy_deny', reason: 'no "way"\u2028', httpStatus: 403 });
    const base: Partial<CheckResult> = { adapter: 'kong_opa', action: action('refund/r-1'), request: request('/v1/refunds/r-1?amount=50'), route: 'POST /v1/refunds/{refund_id}' };
    const token = request('/v1/refunds/r-1?token=s3cret');
    const runs: [Decision, Partial<CheckResult>][] = [
      [allow, base], [allow, { ...base, cacheHit: false }], [allow, base], [deny, base], [allow, base],
      [allow, { ...base, action: action('refund/r-2') }], [allow, { ...base, action: action('refund/r-2', null) }],
      [allow, { ...base, action: undefined }], [allow, { ...base, action: undefined, request: undefined }], [allow, base],
      [allow, { ...base, action: { ...action('refund/r-1'), action_type: 'payments.void' } as NonNullable<CheckResult['action']> }], [allow, base],
      [allow, { ...base, adapter: 'kong' }], [allow, base], [allow, { ...base, request: token }], [allow, base],
      [allow, { ...base, request: request('/v1/refunds/r-1') }], [allow, base], [allow, { ...base, request: request('/v1/refunds/r-1?amount=50', '/v1/refunds/R-1') }],
      [allow, { ...base, route: undefined }], [allow, base], [allow, { ...base, route: 'POST /v1/refunds/*' }], [allow, base],
      [allow, { ...base, request: request('/v1/refunds/r-1?amount=50', '/v1/refunds/r-1', { method: 'PUT' }) }], [allow, base],
      [allow, { ...base, approvalId: 'apr_1' }], [allow, base],
      [allow, { ...base, request: request('/v1/refunds/r-1?amount=50', '/v1/refunds/r-1', { body: '{"a":1}' }) }], [allow, base],
      [allow, { ...base, request: request('/v1/refunds/r-1?amount=50', '/v1/refunds/r-1', { requestId: undefined }) }],
      // RELOAD (see below) between these two runs: the same raw target, new redaction lists.
      [allow, base], [allow, base], [allow, base],
    ];
    return runs.flatMap(([d, over], i) => [0, 1, 2].map((k) => checkResultOf(d, `act-${i}-${k}`, over)));
  }
  const RELOAD = 3 * 31;

  for (const batch of [false, true]) {
    it(`writes every line as a log that never saw the lines before would (${batch ? 'batched bytes' : 'string lines'})`, () => {
      vi.spyOn(Date, 'now').mockReturnValue(N);
      let redaction = DEFAULT_REDACTION;
      const opts = (body?: boolean) => ({ enabled: true, includeHeaders: false, batch, redaction: () => redaction, ...(body ? { body: () => ({ maxBytes: 1024, maxDepth: 8 }) as never } : {}) });
      const dir = tempDir('decision-log-runs-');
      const out = (name: string) => (batch ? new FdDestination(join(dir, name)) : { text: '', write(s: string) { this.text += s; } });
      const read = (dest: unknown, name: string) => (batch ? readFileSync(join(dir, name), 'utf8') : (dest as { text: string }).text);
      for (const body of [false, true]) {
        const shared = out(`shared-${body}`);
        const log = new DecisionLog(shared as never, opts(body));
        const fresh: string[] = [];
        results().forEach((r, i) => {
          // A reload's new redaction lists half-way: the raw target is written with them.
          if (i === RELOAD) redaction = new Redaction({ query: ['amount'], headers: [] });
          log.record(r);
          const one = out(`one-${body}-${i}`);
          const alone = new DecisionLog(one as never, opts(body));
          alone.record(r);
          alone.flush();
          fresh.push(read(one, `one-${body}-${i}`));
        });
        log.flush();
        redaction = DEFAULT_REDACTION;
        expect(read(shared, `shared-${body}`)).toBe(fresh.join(''));
      }
    });
  }
});

describe("the decision log's repeated runs are copied, not written again", () => {
  for (const [batch, Lines] of [[false, StringLines], [true, LineBuffer]] as const) {
    it(`takes each run's bytes on the second equal line and writes those bytes from the third on (${batch ? 'batched bytes' : 'string lines'})`, () => {
      const since = vi.spyOn(Lines.prototype, 'since');
      const encoded = vi.spyOn(Lines.prototype, 'encoded');
      const dest = batch ? new FdDestination(join(tempDir('decision-log-copies-'), 'decisions.log')) : { write() {} };
      const log = new DecisionLog(dest as never, { enabled: true, includeHeaders: false, batch, redaction: () => DEFAULT_REDACTION });
      const d = decisionOf();
      const action = { agent_id: 'billing-agent', action_type: 'payments.refund', resource: 'refund/r-1', parameters: {} } as unknown as CheckResult['action'];
      const request = { method: 'POST', path: '/v1/refunds/r-1', rawTarget: '/v1/refunds/r-1?amount=50', query: { amount: '50' }, headers: {}, requestId: 'req-1' } as unknown as CheckResult['request'];
      const taken: unknown[][] = [];
      const written: unknown[][] = [];
      for (let i = 0; i < 4; i++) {
        since.mockClear();
        encoded.mockClear();
        log.record(checkResultOf(d, `act-${i}`, { adapter: 'kong', action, request, route: 'refunds' }));
        taken.push(since.mock.results.map((r) => r.value));
        written.push(encoded.mock.calls.map(([e]) => e));
      }
      log.flush();
      // The adapter-to-decision run and the tail: taken once, on the second line…
      expect(taken.map((t) => t.length)).toEqual([0, 2, 0, 0]);
      // …and each written whole on the third and fourth.
      for (const copy of taken[1]!) for (const line of [2, 3]) expect(written[line]).toContain(copy);
    });
  }
});

describe("the decision log's line start rewritten in place of the last one's digits", () => {
  it('writes every time as its digits, across carries, digit counts and steps back', () => {
    const times = [1_765_000_000_999, 1_765_000_001_000, 1_765_000_000_999, 1e12, 9_999_999_999_999, 1e13, 12, 1e12 + 1, 4_102_444_800_000,
      ...Array.from({ length: 200 }, () => 1e12 + Math.floor(Math.random() * 9e12))];
    for (const batch of [false, true]) {
      const file = join(tempDir('decision-log-time-'), 'decisions.log');
      let text = '';
      const dest = batch ? new FdDestination(file) : { write: (s: string) => (text += s) };
      const log = new DecisionLog(dest as never, { enabled: true, includeHeaders: false, batch, redaction: () => DEFAULT_REDACTION });
      const now = vi.spyOn(Date, 'now');
      times.forEach((ms, i) => {
        now.mockReturnValueOnce(ms);
        log.record(checkResultOf(decisionOf(), `act-${i}`));
      });
      log.flush();
      const lines = (batch ? readFileSync(file, 'utf8') : text).trimEnd().split('\n');
      expect(lines.map((l) => (JSON.parse(l) as { time: number }).time)).toEqual(times);
      // The same text as a line start built from the time's string.
      lines.forEach((l, i) => expect(l.startsWith(`{"level":30,"time":${times[i]},"service":"ascend-sidecar","pid":${process.pid},"kind":"decision","action_id":"act-${i}"`)).toBe(true));
      vi.restoreAllMocks();
    }
  });
});
