import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Encoded, LineBuffer, StringLines, type LineOut } from './line-buffer.js';

/** One JSON line through any LineOut: {"k":<json value>,"n":123,"t":"é✓"} */
function line(o: LineOut, value: string, n: number): void {
  o.ascii('{"k":');
  o.json(value);
  o.ascii(',"n":');
  o.ascii(String(n));
  o.text(',"t":"é✓"}');
  o.endLine();
}

function collect(maxBytes: number) {
  const chunks: Buffer[] = [];
  const b = new LineBuffer({ write: (c: Buffer) => chunks.push(Buffer.from(c)) }, maxBytes, 1000);
  return { b, chunks, text: () => Buffer.concat(chunks).toString('utf8') };
}

describe('LineBuffer', () => {
  afterEach(() => vi.useRealTimers());

  it('writes encoded constants as StringLines writes their text, across chunk boundaries', () => {
    const parts = [new Encoded('{"e":"ü✓","v":'), new Encoded(',"long":"' + 'x'.repeat(300) + '"}')];
    const s: string[] = [];
    const ref = new StringLines({ write: (l: string) => s.push(l) });
    const { b, text } = collect(256);
    for (let i = 0; i < 40; i++) {
      for (const o of [ref, b]) {
        o.encoded(parts[0]!);
        o.ascii(String(i));
        if (i % 3 === 0) o.encoded(parts[1]!);
        else o.ascii('}');
        o.endLine();
      }
    }
    b.flush();
    expect(text()).toBe(s.join(''));
  });

  it('writes exactly what StringLines (JSON.stringify) writes, for any string', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: 'binary', maxLength: 300 }), { maxLength: 40 }), fc.integer({ min: 64, max: 2048 }), (values, maxBytes) => {
        const s: string[] = [];
        const ref = new StringLines({ write: (l: string) => s.push(l) });
        const { b, text } = collect(maxBytes);
        values.forEach((v, i) => {
          line(ref, v, i);
          line(b, v, i);
        });
        b.flush();
        // Lone surrogates become U+FFFD in UTF-8 either way; JSON.stringify escapes them, so compare parsed.
        expect(text()).toBe(Buffer.from(s.join(''), 'utf8').toString('utf8'));
        for (const [i, l] of text().split('\n').slice(0, -1).entries()) expect(JSON.parse(l).k).toBe(JSON.parse(s[i]!).k);
      }),
      { numRuns: 300 },
    );
  });

  it('writes a number as String() does, integers or not, across chunk boundaries', () => {
    const edges = [0, -0, 1, 9, 10, 99, 100, 2 ** 31 - 1, 2 ** 31, -1, 0.5, 1e21, Number.NaN, Number.POSITIVE_INFINITY];
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.integer({ min: 0, max: 2 ** 31 - 1 }), fc.double(), fc.constantFrom(...edges)), { maxLength: 60 }), fc.integer({ min: 16, max: 512 }), (ns, maxBytes) => {
        const { b, text } = collect(maxBytes);
        for (const n of ns) {
          b.ascii('{"n":');
          b.int(n);
          b.ascii('}');
          b.endLine();
        }
        b.flush();
        expect(text()).toBe(ns.map((n) => `{"n":${String(n)}}\n`).join(''));
      }),
      { numRuns: 300 },
    );
  });

  it('hands over only whole lines, each chunk within maxBytes unless one line is longer', () => {
    const { b, chunks } = collect(256);
    for (let i = 0; i < 50; i++) line(b, 'x'.repeat(i * 7), i);
    line(b, 'y'.repeat(1000), 99);
    line(b, 'z', 100);
    b.flush();
    for (const c of chunks) {
      expect(c.at(-1)).toBe(0x0a);
      const lines = c.toString().split('\n').slice(0, -1);
      if (c.length > 256) expect(lines.length).toBe(1);
      for (const l of lines) expect(() => JSON.parse(l)).not.toThrow();
    }
    expect(chunks.reduce((n, c) => n + c.toString().split('\n').length - 1, 0)).toBe(52);
  });

  it('fills one chunk over and over: no new memory per hand-off', () => {
    // A destination writes each chunk before write() returns (fd-destination.ts), so the
    // LineBuffer may overwrite it: every hand-off must be the same memory, read at hand-off time.
    const memory = new Set<ArrayBufferLike>();
    const seen: string[] = [];
    const b = new LineBuffer({ write: (c: Buffer) => (memory.add(c.buffer), expect(c.byteOffset).toBe(0), seen.push(c.toString())) }, 64, 1000);
    for (let i = 0; i < 20; i++) line(b, `v${i}`, i);
    b.flush();
    expect(seen.length).toBeGreaterThan(5);
    expect(memory.size).toBe(1);
    expect(seen.join('').split('\n').slice(0, -1).map((l) => JSON.parse(l).n)).toEqual([...Array(20).keys()]);
  });

  it('flushes a partial chunk after maxDelayMs', () => {
    vi.useFakeTimers();
    const chunks: string[] = [];
    const b = new LineBuffer({ write: (c: Buffer) => chunks.push(c.toString()) }, 4096, 100);
    line(b, 'a', 1);
    expect(chunks).toEqual([]);
    vi.advanceTimersByTime(100);
    expect(chunks).toEqual(['{"k":"a","n":1,"t":"é✓"}\n']);
  });

  it('hands a nearly full chunk over after the current callback, not inside the line that filled it', async () => {
    const chunks: string[] = [];
    const b = new LineBuffer({ write: (c: Buffer) => chunks.push(c.toString()) }, 72, 1000);
    line(b, 'a'.repeat(40), 1); // 65 bytes: past 7/8 of 72
    expect(chunks).toEqual([]);
    await new Promise((r) => setImmediate(r));
    expect(chunks.map((c) => JSON.parse(c).n)).toEqual([1]);
    // A chunk that is full goes at once.
    line(b, 'b'.repeat(40), 2);
    line(b, 'c'.repeat(40), 3);
    expect(chunks.length).toBe(2);
    b.flush();
    expect(chunks.join('').split('\n').slice(0, -1).map((l) => JSON.parse(l).n)).toEqual([1, 2, 3]);
    // Below 7/8 a chunk waits for more lines (or maxDelayMs): a write costs about the same at any size.
    const c = collect(200);
    line(c.b, 'a'.repeat(40), 1);
    await new Promise((r) => setImmediate(r));
    expect(c.chunks).toEqual([]);
    c.b.flush();
  });

  it('after a quiet turn hands over from quietBytes; after a busy turn only at 7/8', async () => {
    const turn = () => new Promise((r) => setImmediate(r));
    const chunks: string[] = [];
    // 4096-byte chunks (busy hand-off at 3584), quiet hand-off from 100 bytes; each line is 65 bytes.
    const b = new LineBuffer({ write: (c: Buffer) => chunks.push(c.toString()) }, 4096, 1000, 100);
    const ids = () => chunks.join('').split('\n').slice(0, -1).map((l) => JSON.parse(l).n);
    // Requests one at a time: one line a turn.
    line(b, 'a'.repeat(40), 1);
    await turn();
    expect(chunks).toEqual([]); // 65 < 100
    line(b, 'a'.repeat(40), 2);
    expect(chunks).toEqual([]); // never inside the request that filled it
    await turn();
    expect(ids()).toEqual([1, 2]); // 130 >= 100 after a quiet turn
    // A busy turn: three lines (195 bytes) wait for 7/8 of the chunk.
    for (const n of [3, 4, 5]) line(b, 'a'.repeat(40), n);
    await turn();
    expect(ids()).toEqual([1, 2]);
    // The next quiet turn takes them with its own line.
    line(b, 'a'.repeat(40), 6);
    await turn();
    expect(ids()).toEqual([1, 2, 3, 4, 5, 6]);
    // A busy turn past 7/8 hands over at its end.
    for (let n = 7; n < 7 + 56; n++) line(b, 'a'.repeat(40), n); // 56 × 65 = 3640 >= 3584
    expect(chunks.length).toBe(2);
    await turn();
    expect(chunks.length).toBe(3);
    expect(ids()).toEqual([...Array(62).keys()].map((i) => i + 1));
  });

  it('a quiet hand-off is never larger than the busy one (small chunks, e.g. PIPE_BUF)', async () => {
    const chunks: string[] = [];
    const b = new LineBuffer({ write: (c: Buffer) => chunks.push(c.toString()) }, 200, 1000); // default quietBytes 8192
    line(b, 'a'.repeat(40), 1);
    line(b, 'a'.repeat(40), 2); // 130 < 175 (7/8 of 200)
    await new Promise((r) => setImmediate(r));
    expect(chunks).toEqual([]);
    line(b, 'a'.repeat(40), 3); // 195 >= 175 after a quiet turn
    await new Promise((r) => setImmediate(r));
    expect(chunks.length).toBe(1);
  });
});
