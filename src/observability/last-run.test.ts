import { describe, expect, it } from 'vitest';
import { LastRun } from './last-run.js';
import { Encoded, StringLines } from './line-buffer.js';

/** Lines into a list, and every Encoded written, in order. */
function recorder(): { o: StringLines; lines: string[]; encoded: Encoded[] } {
  const lines: string[] = [];
  const encoded: Encoded[] = [];
  const o = new StringLines({ write: (s: string) => void lines.push(s) });
  const write = o.encoded.bind(o);
  o.encoded = (e: Encoded) => (encoded.push(e), write(e));
  return { o, lines, encoded };
}

/** One line: a run of two pieces for `values` through `run`, between a start and an end. */
function line(run: LastRun, o: StringLines, values: readonly [unknown, unknown, unknown, unknown, unknown]): boolean {
  o.ascii('{"a":1');
  const replayed = run.replayed(o, ...values);
  if (!replayed) {
    o.ascii(`,"b":${JSON.stringify(values[0])}`);
    o.ascii(`,"c":${JSON.stringify(values[1])}`);
    run.end(o);
  }
  o.ascii('}');
  o.endLine();
  return replayed;
}

describe('LastRun', () => {
  it('writes the pieces the first and second time values come running, then copies the bytes taken the second time', () => {
    const { o, lines, encoded } = recorder();
    const run = new LastRun();
    const same = ['x', 'y', undefined, null, 3] as const;
    expect([line(run, o, same), line(run, o, same), line(run, o, same), line(run, o, same)]).toEqual([false, false, true, true]);
    // The same copy both times: taken once, on the second line.
    expect(encoded).toHaveLength(2);
    expect(encoded[0]).toBe(encoded[1]);
    expect(encoded[0]!.text).toBe(',"b":"x","c":"y"');
    expect(new Set(lines)).toEqual(new Set(['{"a":1,"b":"x","c":"y"}\n']));
  });

  it('starts again when any one value changes, and takes no bytes for values seen once', () => {
    const { o, lines, encoded } = recorder();
    const run = new LastRun();
    const base = ['x', 'y', 'z', 'w', 'v'] as const;
    line(run, o, base);
    line(run, o, base);
    for (let k = 0; k < 5; k++) {
      const other = base.map((v, i) => (i === k ? `${v}2` : v)) as unknown as typeof base;
      expect(line(run, o, other)).toBe(false);
      expect(line(run, o, base)).toBe(false);
    }
    expect(encoded).toHaveLength(0);
    expect(lines.at(-2)).toBe('{"a":1,"b":"x","c":"y"}\n');
    expect(line(run, o, base)).toBe(false); // second running: taken now
    expect(line(run, o, base)).toBe(true);
  });
});
