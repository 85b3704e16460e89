// The benchmark's settle period (bench/lib/measure.mjs): a measured run loads its own
// connections before its clock starts, and nothing answered before then is counted.
// A real node:http2 server answers the raw load client over loopback.
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drive } from '../bench/lib/h2client.mjs';
import { encodeFrame, refund } from '../bench/lib/frames.mjs';
import { measure } from '../bench/lib/measure.mjs';

let server: http2.Http2Server;
let port = 0;
let answered = 0;

beforeAll(async () => {
  server = http2.createServer();
  server.on('stream', (stream) => {
    stream.resume();
    stream.on('end', () => {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      answered++;
      stream.end(Buffer.from([0, 0, 0, 0, 0]));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('settle period', () => {
  it('h2client answers during settling are neither counted nor timed, and every answer is one or the other', async () => {
    const frame = encodeFrame(refund());
    const before = answered;
    const conns = 2;
    const streams = 4;
    // Every request after the first conns × streams is fired by an answer, so the settle ends
    // once 10 answers have been taken as settling (no timer decides it).
    let fired = 0;
    let endSettle: () => void = () => {};
    const settled = new Promise<void>((resolve) => { endSettle = resolve; });
    const src = { next: () => { if (++fired === conns * streams + 10) endSettle(); return frame; }, distinct: 1, freshUsed: () => 0 };
    const r = await drive({ port, urlPath: '/envoy.service.auth.v3.Authorization/Check', conns, streams,
      limitReq: Infinity, durationMs: 100, settle: () => settled, record: true, src });
    expect(r.errors).toBe(0);
    expect(r.settledAnswers).toBeGreaterThanOrEqual(10);
    // The requests in flight when the settle ended are answered after it: served, not settled.
    expect(r.served).toBeGreaterThanOrEqual(conns * streams);
    // The calibration request of drive() is answered by its own throwaway server, not this one.
    expect(answered - before).toBe(r.served + r.settledAnswers);
    expect(r.latencyUs?.samples).toBe(r.requests);
  });

  it('measure() reads its counters only after the settle period of a driver that settles', async () => {
    const events: string[] = [];
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => { release = resolve; });
    const load = Object.assign(async (_d: number, latency: boolean, settleS?: number) => {
      events.push(`load latency=${latency} settle=${settleS}`);
      if (latency) await gate; // the measured run cannot finish before the counters are read
      return { served: 10, requests: 10 };
    }, { settles: true });
    const r = await measure({ load, warmS: 0, settleS: 0.02, durationS: 1,
      before: async () => { events.push('before'); release(); }, after: async () => ({}) });
    expect(events).toEqual(['load latency=true settle=0.02', 'before']);
    expect(r.served).toBe(10);
  });

  it('a driver that cannot settle (wrk) is run without one', async () => {
    const seen: unknown[] = [];
    const load = async (_d: number, _latency: boolean, settleS?: number) => { seen.push(settleS); return { served: 1 }; };
    await measure({ load, warmS: 0, settleS: 1, durationS: 1 });
    expect(seen).toEqual([0]);
  });
});
