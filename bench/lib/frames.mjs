// Pre-framed gRPC messages for the load generators.
//
// A gRPC unary request body is one length-prefixed message: 1 byte compression flag (0), 4-byte
// big-endian length, then the serialized CheckRequest. h2load sends a file verbatim as the body
// (-d), so a frame file IS a request body. A "frame pack" is several frames back to back; each
// frame is self-delimiting, so h2client.mjs splits a pack without any side index.
import { readFileSync, writeFileSync } from 'node:fs';
import { loadTypes } from './protos.mjs';

/** Prefix one serialized message with the 5-byte gRPC header. */
export function frame(message) {
  const out = Buffer.allocUnsafe(5 + message.length);
  out[0] = 0; // not compressed
  out.writeUInt32BE(message.length, 1);
  Buffer.from(message.buffer, message.byteOffset, message.length).copy(out, 5);
  return out;
}

/** Split a buffer of back-to-back frames into frames (each still with its 5-byte header). */
export function splitFrames(buf) {
  const frames = [];
  let off = 0;
  while (off < buf.length) {
    if (off + 5 > buf.length) throw new Error(`truncated gRPC frame header at byte ${off}`);
    if (buf[off] !== 0) throw new Error(`compressed frame at byte ${off} is not supported`);
    const end = off + 5 + buf.readUInt32BE(off + 1);
    if (end > buf.length) throw new Error(`truncated gRPC frame at byte ${off}`);
    frames.push(buf.subarray(off, end));
    off = end;
  }
  return frames;
}

/** The message inside one frame (no copy). */
export function unframe(buf) {
  const [only, ...rest] = splitFrames(buf);
  if (!only || rest.length) throw new Error(`expected exactly one frame, got ${rest.length + (only ? 1 : 0)}`);
  return only.subarray(5);
}

/**
 * A CheckRequest shaped like Envoy's for an HTTP/1.1 request: the request line and the four
 * headers the scenario names — ~220 bytes for the refund, the size the reference figures were
 * taken with (Envoy's pseudo-headers and the peers would add ~170 B; identity here comes from
 * x-agent-id, so the decision does not need them).
 */
export function checkRequest({ method, path, host = 'payments.internal', headers = {}, id = '73904115', body }) {
  const http = { id, method, path, host, scheme: 'http', headers };
  if (body !== undefined) http.body = body;
  return { attributes: { request: { http } } };
}

const AGENT_HEADERS = {
  'x-agent-id': 'billing-agent',
  'content-type': 'application/json',
  'user-agent': 'agent-sdk/1.4',
  'x-request-id': '0c5e0d2e-6b1f-4f3e-9d5a-2f0c8a1b7e42',
};

/** Allowed and cached under core.yaml: route payments.refund, policy pol_refund_small. */
export const refund = (id = 'r-1', amount = 50) =>
  checkRequest({ method: 'POST', path: `/v1/refunds/${id}?amount=${amount}`, headers: AGENT_HEADERS });

/** Denied under core.yaml: route /admin/** → admin.access → pol_admin_deny. */
export const adminDeny = () => checkRequest({ method: 'GET', path: '/admin/users', headers: AGENT_HEADERS });

/**
 * An MCP tools/call as Envoy forwards it with `with_request_body`: `POST /mcp/db`, a JSON-RPC body
 * of exactly `bytes` (4 KiB) whose arguments carry a SQL text and rows to insert. Allowed and
 * cached under bench/configs/mcp.yaml (pol_mcp_tools: limit ≤ 1000).
 */
export function mcpToolCall(bytes = 4096) {
  const make = (pad) => JSON.stringify({
    jsonrpc: '2.0', id: 42, method: 'tools/call',
    params: { name: 'query', arguments: { sql: 'select id, name, total from orders where region = $1', limit: 100, params: ['eu-west'], note: 'x'.repeat(pad) } },
  });
  const body = make(bytes - make(0).length);
  if (Buffer.byteLength(body) !== bytes) throw new Error(`mcp body is ${Buffer.byteLength(body)} bytes, not ${bytes}`);
  return checkRequest({ method: 'POST', path: '/mcp/db', headers: { ...AGENT_HEADERS, accept: 'application/json, text/event-stream' }, body });
}

/** The refund with a 4 KiB body that nothing in core.yaml reads: what carrying a body costs the transport and decoder alone. */
export function refundWithBody(bytes = 4096) {
  const r = refund();
  r.attributes.request.http.body = JSON.stringify({ note: 'x'.repeat(bytes - 11) });
  return r;
}

/** Encode a CheckRequest object and frame it. */
export function encodeFrame(obj, types = loadTypes()) {
  const { CheckRequest } = types;
  const err = CheckRequest.verify(obj);
  if (err) throw new Error(`bad CheckRequest: ${err}`);
  return frame(CheckRequest.encode(CheckRequest.fromObject(obj)).finish());
}

/** Decode a frame back to a plain CheckRequest object (for tests and probes). */
export function decodeFrame(buf, types = loadTypes()) {
  const { CheckRequest } = types;
  return CheckRequest.toObject(CheckRequest.decode(unframe(buf)), { longs: String, defaults: false });
}

/**
 * 1,000 (n) distinct allowed refunds: distinct ids and amounts 1..1000 (all ≤ 1000 so they stay
 * "allow" under pol_refund_small and never open approvals — the mix measures cache misses, not the
 * approvals store).
 */
export function mixFrames(n = 1000, types = loadTypes()) {
  return Array.from({ length: n }, (_, i) => encodeFrame(refund(`r-${1000 + i}`, 1 + ((i * 37) % 1000)), types));
}

// Fixed-width ids keep every length prefix unchanged, so a new distinct request is one template
// copy plus a few digit writes — cheap enough for the load generator to make 1M of them.
const ID_DIGITS = 9;
const MARKER = 'Z'.repeat(ID_DIGITS);

/** A refund frame whose id digits can be patched in place: { frame, offsets, digits }. */
export function freshTemplate(types = loadTypes()) {
  const buf = encodeFrame(refund(`f-${MARKER}`, 50), types);
  const offsets = [];
  for (let at = buf.indexOf(MARKER); at !== -1; at = buf.indexOf(MARKER, at + 1)) offsets.push(at);
  if (offsets.length === 0) throw new Error('marker not found in template');
  return { frame: buf, offsets, digits: ID_DIGITS };
}

/** Write request number `n` into a copy of the template: refund id f-<n, zero-padded>. */
export function patchFresh(tpl, n, out = Buffer.from(tpl.frame)) {
  const s = String(n).padStart(tpl.digits, '0');
  if (s.length !== tpl.digits) throw new Error(`fresh id ${n} exceeds ${tpl.digits} digits`);
  for (const at of tpl.offsets) out.write(s, at, 'latin1');
  return out;
}

export const writeFramePack = (file, frames) => writeFileSync(file, Buffer.concat(frames));
export const readFramePack = (file) => splitFrames(readFileSync(file));
