// Load drivers behind one signature, the request bodies they send, and the correctness probe
// run before a side is measured.
//
//   h2load   — C, cheapest client; one body for every request (single-frame scenarios, --rps).
//   h2client — raw-socket HTTP/2 in node: cycles N frames or mints fresh ones (mix, memory).
//   wrk      — HTTP/1.1 for the HTTP adapters (bench/http.mjs).
import { mkdirSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { adminDeny, encodeFrame, freshTemplate, mcpToolCall, mixFrames, refundWithBody, patchFresh, refund, writeFramePack } from './frames.mjs';
import { runH2load, runH2loadH1 } from './h2load.mjs';
import { runH2client } from './h2client.mjs';
import { runWrk } from './wrk.mjs';
import { checkDecision } from './probe.mjs';
import { SkipError } from './servers.mjs';

/** Request bodies by name: each a list of gRPC frames. */
const BODIES = {
  allow: () => [encodeFrame(refund())],
  deny: () => [encodeFrame(adminDeny())],
  mix: () => mixFrames(1000),
  'mcp-4k': () => [encodeFrame(mcpToolCall(4096))],
  'allow-4k-unread': () => [encodeFrame(refundWithBody(4096))],
};

/** Frame files written once per run under <outDir>/frames/. */
export class Assets {
  constructor(outDir) { this.dir = path.join(outDir, 'frames'); this.cache = new Map(); }

  frames(name) {
    if (!this.cache.has(name)) {
      const make = BODIES[name];
      if (!make) throw new Error(`unknown request body set ${name}`);
      this.cache.set(name, make());
    }
    return this.cache.get(name);
  }

  file(name) {
    const file = path.join(this.dir, `${name}.bin`);
    if (!existsSync(file)) { mkdirSync(this.dir, { recursive: true }); writeFramePack(file, this.frames(name)); }
    return file;
  }
}

// Fresh ids never repeat within a harness process: each run starts 10M ids after the last.
let freshCursor = 0;

/** Marks a driver function that takes a settle period (see measure.mjs). */
const settling = (fn) => Object.assign(fn, { settles: true });

/** A function (durationS, latency[, settleS]) → driver result, for one side of a scenario. */
export function loadFor(side, sc, server, assets) {
  if (side.driver === 'h2load') {
    if (assets.frames(sc.body).length !== 1) throw new Error(`${sc.name}: h2load sends one body; use h2client for ${sc.body}`);
    const frameFile = assets.file(sc.body);
    return settling((durationS, latency, settleS) => runH2load({ port: server.grpcPort, frameFile, mode: sc.mode, durationS, latency, settleS }));
  }
  if (side.driver === 'h2client') {
    const framesFile = assets.file(sc.body);
    return settling((durationS, latency, settleS) => {
      const freshStart = freshCursor;
      freshCursor += 10_000_000;
      return runH2client({ port: server.grpcPort, framesFile, mode: sc.mode, durationS, latency, settleS, freshEvery: sc.freshEvery ?? 0, freshStart });
    });
  }
  if (side.driver === 'h2load-h1') {
    return settling((durationS, latency, settleS) => runH2loadH1({ port: server.httpPort, request: sc.request, mode: sc.mode, durationS, latency, settleS }));
  }
  if (side.driver === 'wrk') {
    return (durationS, latency) => runWrk({ port: server.httpPort, request: sc.request, mode: sc.mode, durationS, latency });
  }
  throw new Error(`unknown driver ${side.driver}`);
}

/**
 * Before measuring: the server must answer this scenario's requests the expected way, or the
 * numbers would time errors. A constant baseline is only checked for answering at all.
 */
export async function probe(sc, server, assets) {
  if (sc.kind === 'http') return probeHttp(sc, server);
  const frames = assets.frames(sc.body).slice(0, 3);
  if (sc.freshEvery) frames.push(patchFresh(freshTemplate(), 999_999_999));
  for (const f of frames) {
    let got;
    try { got = await checkDecision(server.grpcPort, f); } catch (err) { throw new SkipError(`${server.id}: ${err.message}`); }
    if (!server.spec.constant && sc.expect && got.decision !== sc.expect) {
      throw new SkipError(`${server.id} answered ${got.decision} (status.code ${got.code}) where ${sc.expect} was expected`);
    }
  }
}

async function probeHttp(sc, server) {
  const { method, path: urlPath, headers, body } = sc.request;
  let res;
  try {
    res = await fetch(`http://127.0.0.1:${server.httpPort}${urlPath}`, { method, headers, body, signal: AbortSignal.timeout(2000) });
  } catch (err) { throw new SkipError(`${server.id}: ${err.message}`); }
  const text = await res.text();
  if (res.status !== (sc.expectStatus ?? 200)) {
    throw new SkipError(`${server.id} answered HTTP ${res.status} on ${method} ${urlPath} (${text.slice(0, 160)}): adjust the request in bench/http-scenarios.mjs to the adapter's contract`);
  }
  // Kong (our plugin: {"allow": false}) and Kong OPA ({"result": false} or {"result": {"allow":
  // false}}) answer 200 for a deny too.
  let json;
  try { json = JSON.parse(text); } catch { /* not JSON: forward-auth */ }
  if (!server.spec.constant && (json?.allow === false || json?.result === false || json?.result?.allow === false)) {
    throw new SkipError(`${server.id} denied ${method} ${urlPath} where allow was expected: ${text.slice(0, 160)}`);
  }
}
