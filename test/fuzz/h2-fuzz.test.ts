/**
 * Property fuzzing (fast-check) of the two parsers a client feeds bytes to: the HTTP/2 frame
 * parser of an h2 connection, and the HPACK decoder. Inputs are the seed corpus
 * (test/fuzz/corpus/*.hex: real request streams and header blocks) mutated byte by byte,
 * spliced together, cut into arbitrary reads, or plain random bytes. `npm test` runs a short
 * bounded pass; `npm run fuzz` (FUZZ_RUNS=200000) a long one. A counterexample is printed as
 * hex: add it to the corpus once fixed.
 */
import { readdirSync, readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { runCall, type GrpcMethod } from '../../src/grpc/call.js';
import { H2Connection, type ConnectionHost } from '../../src/grpc/h2/connection.js';
import { HpackDecoder, HpackError } from '../../src/grpc/h2/hpack.js';
import { huffmanEncode } from '../../src/grpc/h2/huffman.js';
import { H2_LIMIT_DEFAULTS } from '../../src/grpc/h2/limits.js';
import { H2TestHost, H2TestSocket } from '../helpers/h2-socket.js';
import { H2_RESPONDER } from '../../src/grpc/h2/responder.js';
import type { H2Stream } from '../../src/grpc/h2/stream.js';
import { frameMessage } from '../../src/grpc/wire.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 300);
const SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);
const CORPUS_DIR = new URL('./corpus/', import.meta.url);
const corpus = (prefix: string) =>
  readdirSync(CORPUS_DIR).filter((f) => f.startsWith(prefix) && f.endsWith('.hex')).sort()
    .map((f) => Buffer.from(readFileSync(new URL(f, CORPUS_DIR), 'utf8').replace(/#.*$/gm, '').replace(/\s+/g, ''), 'hex'));

/** A seed with mutations: flipped bytes, inserted and deleted runs, or spliced with another seed. */
function mutated(seeds: Buffer[]): fc.Arbitrary<Buffer> {
  const edit = fc.oneof(
    fc.record({ op: fc.constant('set' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
    fc.record({ op: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ maxLength: 16 }) }),
    fc.record({ op: fc.constant('delete' as const), at: fc.nat(), n: fc.integer({ min: 1, max: 16 }) }),
    fc.record({ op: fc.constant('splice' as const), at: fc.nat(), other: fc.nat(), from: fc.nat() }),
  );
  return fc.tuple(fc.nat({ max: seeds.length - 1 }), fc.array(edit, { maxLength: 8 })).map(([i, edits]) => {
    let b = Buffer.from(seeds[i] as Buffer);
    for (const e of edits) {
      const at = b.length === 0 ? 0 : e.at % b.length;
      if (e.op === 'set') b[at] = e.byte;
      else if (e.op === 'insert') b = Buffer.concat([b.subarray(0, at), e.bytes, b.subarray(at)]);
      else if (e.op === 'delete') b = Buffer.concat([b.subarray(0, at), b.subarray(at + e.n)]);
      else {
        const o = seeds[e.other % seeds.length] as Buffer;
        b = Buffer.concat([b.subarray(0, at), o.subarray(o.length === 0 ? 0 : e.from % o.length)]);
      }
    }
    return b;
  });
}

const input = (seeds: Buffer[]) => fc.oneof({ weight: 4, arbitrary: mutated(seeds) }, { weight: 1, arbitrary: fc.uint8Array({ maxLength: 512 }).map((u) => Buffer.from(u)) });

/** What it writes is kept. */
class FakeSocket extends H2TestSocket {
  written: Buffer[] = [];
  write(b: Buffer): boolean {
    if (!this.destroyed) this.written.push(Buffer.from(b));
    return true;
  }
}

const ANSWER = frameMessage(Buffer.from([0x12, 0x00]));

/** A host like H2GrpcServer's, without the listener: a Check that answers at once and one that answers a turn later, and a server stream. */
class Host extends H2TestHost implements ConnectionHost {
  readonly methods = new Map<string, GrpcMethod>([
    ['/envoy.service.auth.v3.Authorization/Check', { kind: 'unary', handle: () => ANSWER }],
    ['/slow', { kind: 'unary', handle: () => Promise.resolve(ANSWER) }],
    ['/grpc.health.v1.Health/Watch', { kind: 'stream', handle: (_m, call) => call.write(ANSWER) }],
  ]);
  readonly limits = { ...H2_LIMIT_DEFAULTS, maxControlFramesPerSecond: 1e9 };
  closedCount = 0;
  run(s: H2Stream, body: Buffer): void {
    runCall(s, H2_RESPONDER, s.method, body, s.encoding, s.deadline, this.maxReceiveBytes);
  }
  closed(): void {
    this.closedCount++;
  }
}

/** Every byte the server wrote is a whole, well-formed frame (RFC 9113 4.1). */
function framesOf(out: Buffer): Array<{ type: number; stream: number }> {
  const frames: Array<{ type: number; stream: number }> = [];
  let at = 0;
  while (at < out.length) {
    expect(out.length - at, 'a partial frame header').toBeGreaterThanOrEqual(9);
    const len = out.readUIntBE(at, 3);
    expect(len, 'a frame over 16384 bytes').toBeLessThanOrEqual(16_384);
    expect(out.length - at - 9, 'a truncated frame').toBeGreaterThanOrEqual(len);
    const type = out[at + 3] as number;
    expect(type, 'an unknown frame type').toBeLessThanOrEqual(9);
    frames.push({ type, stream: out.readUInt32BE(at + 5) & 0x7fffffff });
    at += 9 + len;
  }
  return frames;
}

describe('fuzz: the h2 frame parser', () => {
  const seeds = corpus('frames-');

  it('has a seed corpus', () => {
    expect(seeds.length).toBeGreaterThanOrEqual(5);
  });

  it('reaches the answers: the Check seed, unmutated, is answered with HEADERS, DATA and trailers', async () => {
    const socket = new FakeSocket();
    new H2Connection(socket as never, new Host());
    socket.emit('data', corpus('frames-check')[0]);
    await new Promise((r) => setImmediate(r));
    expect(framesOf(Buffer.concat(socket.written)).filter((f) => f.stream === 1).map((f) => f.type)).toEqual([1, 0, 1]);
  });

  it('never throws, writes only whole frames, and holds nothing once closed, for any bytes in any reads', async () => {
    await fc.assert(
      fc.asyncProperty(input(seeds), fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 8 }), async (bytes, cuts) => {
        const socket = new FakeSocket();
        const host = new Host();
        new H2Connection(socket as never, host);
        // The bytes arrive in reads of the lengths given (cycled), as a real socket may cut them.
        for (let at = 0, i = 0; at < bytes.length && !socket.destroyed; i++) {
          const n = cuts[i % cuts.length] as number;
          socket.emit('data', bytes.subarray(at, at + n));
          at += n;
          await Promise.resolve();
        }
        await new Promise((r) => setImmediate(r));
        const frames = framesOf(Buffer.concat(socket.written));
        expect(frames[0]?.type).toBe(4); // our SETTINGS first
        socket.destroy();
        await new Promise((r) => setImmediate(r));
        expect(host.closedCount).toBe(1);
        expect(host.buffered).toBe(0);
        expect(host.unsent).toBe(0);
      }),
      { numRuns: RUNS, seed: SEED },
    );
  }, 600_000);
});

/** An HPACK block built by a model encoder, and the fields it must decode to. */
type Op =
  | { kind: 'indexed'; name: string; value: string; huffman: boolean }
  | { kind: 'plain'; name: string; value: string; huffman: boolean }
  | { kind: 'ref'; k: number }
  | { kind: 'static'; index: number };

function integer(prefix: number, bits: number, n: number): number[] {
  const max = (1 << bits) - 1;
  if (n < max) return [prefix | n];
  const out = [prefix | max];
  n -= max;
  while (n >= 128) {
    out.push((n % 128) + 128);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}

function hstring(s: string, huffman: boolean): Buffer {
  const raw = huffman ? huffmanEncode(s) : Buffer.from(s, 'latin1');
  return Buffer.concat([Buffer.from(integer(huffman ? 0x80 : 0, 7, raw.length)), raw]);
}

/** RFC 7541 Appendix A, the entries the model refers to. */
const STATIC: Array<[string, string]> = [[':authority', ''], [':method', 'GET'], [':method', 'POST'], [':path', '/'], [':path', '/index.html'], [':scheme', 'http'], [':scheme', 'https'], [':status', '200']];

const name = fc.stringMatching(/^[a-z][a-z0-9-]{0,15}$/);
const value = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 40 });
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('indexed' as const), name, value, huffman: fc.boolean() }),
  fc.record({ kind: fc.constant('plain' as const), name, value, huffman: fc.boolean() }),
  fc.record({ kind: fc.constant('ref' as const), k: fc.nat() }),
  fc.record({ kind: fc.constant('static' as const), index: fc.integer({ min: 1, max: STATIC.length }) }),
);

/** Encodes blocks of ops with a model dynamic table (4096 bytes); returns each block and its fields. */
function encode(blocks: Op[][]): Array<{ block: Buffer; fields: Array<[string, string]> }> {
  const table: Array<[string, string]> = [];
  const size = () => table.reduce((n, [a, b]) => n + 32 + a.length + b.length, 0);
  return blocks.map((ops) => {
    const parts: Buffer[] = [];
    const fields: Array<[string, string]> = [];
    for (const o of ops) {
      if (o.kind === 'static') {
        parts.push(Buffer.from(integer(0x80, 7, o.index)));
        fields.push(STATIC[o.index - 1] as [string, string]);
      } else if (o.kind === 'ref') {
        if (table.length === 0) continue;
        const k = o.k % table.length;
        parts.push(Buffer.from(integer(0x80, 7, 62 + k)));
        fields.push(table[k] as [string, string]);
      } else {
        parts.push(Buffer.from([o.kind === 'indexed' ? 0x40 : 0x00]), hstring(o.name, o.huffman), hstring(o.value, o.huffman));
        fields.push([o.name, o.value]);
        if (o.kind === 'indexed') {
          table.unshift([o.name, o.value]);
          while (size() > 4096) table.pop();
        }
      }
    }
    return { block: Buffer.concat(parts), fields };
  });
}

describe('fuzz: the HPACK decoder', () => {
  const seeds = corpus('hpack-');

  it('has a seed corpus', () => {
    expect(seeds.length).toBeGreaterThanOrEqual(3);
  });

  it('decodes or throws HpackError, never anything else, for any bytes', () => {
    fc.assert(
      fc.property(input(seeds), (bytes) => {
        const d = new HpackDecoder();
        try {
          d.decode(bytes, 0, bytes.length, { field: () => {} });
          // After any block, decoded or not, the decoder takes the next block as usual.
          d.decode(Buffer.from([0x82]), 0, 1, { field: () => {} });
        } catch (e) {
          expect(e).toBeInstanceOf(HpackError);
        }
      }),
      { numRuns: RUNS * 4, seed: SEED },
    );
  });

  it('decodes exactly what a model encoder wrote, across blocks sharing the dynamic table', () => {
    fc.assert(
      fc.property(fc.array(fc.array(op, { maxLength: 12 }), { minLength: 1, maxLength: 6 }), (blocks) => {
        const d = new HpackDecoder();
        for (const { block, fields } of encode(blocks)) {
          const got: Array<[string, string]> = [];
          d.decode(block, 0, block.length, { field: (n, v) => got.push([n, v]) });
          expect(got).toEqual(fields);
        }
      }),
      { numRuns: RUNS, seed: SEED },
    );
  });
});
