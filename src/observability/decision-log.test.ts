/**
 * The decision log's cached line start (DecisionLog.head: `{"level":30,"time":MS,…`, built once
 * per millisecond): under a controlled clock, each line carries the millisecond it was written
 * in — across a change of millisecond (and a clock stepped back) the start is built again, never
 * the last one reused — and within one millisecond the one start is shared.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_REDACTION } from './redact.js';
import { DecisionLog } from './decision-log.js';
import { FdDestination } from './fd-destination.js';
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
