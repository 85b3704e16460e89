/**
 * CheckResult → serialized envoy.service.auth.v3.CheckResponse, written directly with
 * protobufjs' Writer (field numbers from protos/envoy/service/auth/v3/external_auth.proto).
 *
 * allowed → status OK + ok_response (x-ascend-* headers to the upstream, client-sent
 * x-ascend-* removed); denied/pending → PERMISSION_DENIED + denied_response with the HTTP
 * status and JSON body. Denials are CheckResponses, never gRPC errors, so Envoy's
 * failure_mode_allow can never turn them into an allow.
 */
import protobuf from 'protobufjs/minimal.js';
import type { CheckResult } from '../../pipeline/result.js';
import { decisionHeaders, refusal, staleAscendHeaders } from '../render.js';
import { frameMessage, Status, writeFrameHeader } from '../../grpc/wire.js';
import * as T from './tags.js';

const { Writer } = protobuf;
type W = protobuf.Writer;

/** core.v3.HeaderValueOption.HeaderAppendAction */
const OVERWRITE_IF_EXISTS_OR_ADD = 2;

function headerOption(w: W, field: number, key: string, value: string): void {
  w.uint32((field << 3) | 2).fork();
  w.uint32(T.OPTION_HEADER).fork().uint32(T.HEADER_KEY).string(key).uint32(T.HEADER_VALUE).string(value).ldelim();
  w.uint32(T.OPTION_APPEND_ACTION).int32(OVERWRITE_IF_EXISTS_OR_ADD);
  w.ldelim();
}

function structField(w: W, key: string, v: string | number | boolean | null): void {
  w.uint32(T.STRUCT_FIELDS).fork(); // map entry
  w.uint32(T.MAP_KEY).string(key);
  w.uint32(T.MAP_VALUE).fork(); // Value
  if (v === null) w.uint32(T.VALUE_NULL).int32(0);
  else if (typeof v === 'number') w.uint32(T.VALUE_NUMBER).double(v);
  else if (typeof v === 'boolean') w.uint32(T.VALUE_BOOL).bool(v);
  else w.uint32(T.VALUE_STRING).string(v);
  w.ldelim();
  w.ldelim();
}

function dynamicMetadata(w: W, r: CheckResult): void {
  w.uint32(T.RESPONSE_DYNAMIC_METADATA).fork();
  structField(w, 'decision', r.decision.decision);
  structField(w, 'action_id', r.actionId);
  structField(w, 'policy_id', r.decision.policyId);
  structField(w, 'risk_score', r.decision.riskScore);
  structField(w, 'cache_hit', r.cacheHit);
  if (r.approvalId !== undefined) structField(w, 'approval_id', r.approvalId);
  if (r.action?.agent_id) structField(w, 'agent_id', r.action.agent_id);
  w.ldelim();
}

/** Writes the response field by field; used for misses, pending answers and anything unusual. */
export function writeCheckResponse(r: CheckResult): Buffer {
  const w = Writer.create();
  const d = r.decision;
  const allowed = d.decision === 'allowed';
  const headers = decisionHeaders(r);
  // status: proto3 omits the zero code, so an allow's status is empty.
  w.uint32(T.RESPONSE_STATUS).fork();
  if (!allowed) w.uint32(T.STATUS_CODE).int32(Status.PERMISSION_DENIED).uint32(T.STATUS_MESSAGE).string(d.reason);
  w.ldelim();
  if (allowed) {
    w.uint32(T.RESPONSE_OK).fork();
    for (const [k, v] of headers) headerOption(w, T.OK_HEADERS_FIELD, k, v);
    for (const name of staleAscendHeaders(r, headers, hasHeader)) w.uint32(T.OK_HEADERS_TO_REMOVE).string(name);
    w.ldelim();
  } else {
    // An MCP client gets HTTP 200 with a JSON-RPC error (Envoy sends denied_response's status as is).
    const answer = refusal(r);
    w.uint32(T.RESPONSE_DENIED).fork();
    w.uint32(T.DENIED_STATUS).fork().uint32(T.HTTP_STATUS_CODE).int32(answer.status).ldelim();
    headerOption(w, T.DENIED_HEADERS_FIELD, 'content-type', 'application/json');
    for (const [k, v] of headers) headerOption(w, T.DENIED_HEADERS_FIELD, k, v);
    w.uint32(T.DENIED_BODY).string(answer.body);
    w.ldelim();
  }
  dynamicMetadata(w, r);
  return Buffer.from(w.finish());
}

/**
 * Pre-built answers. Everything in a response but the action id (three places: header, denial
 * body, dynamic metadata) is fixed by the Decision (memoized by the engine, so equal decisions
 * are one object), the agent and whether it was a cache hit; a UUID action id always has 36
 * bytes. So the first answer for a (decision, agent, hit) encodes a template with a
 * placeholder id, and later ones copy it and write the id at the recorded offsets instead of
 * encoding ~40 protobuf fields through Writer ops. Templates live as long as their Decision
 * (WeakMap); at most MAX_AGENTS agents per decision keep one, so hostile agent ids cannot
 * grow memory.
 */
const PLACEHOLDER = 'ascend-action-id-placeholder-0000000';
const ID_LENGTH = PLACEHOLDER.length; // 36, the length of a UUID (shared/uuid.ts)
const MAX_AGENTS = 256;

interface Template {
  readonly bytes: Buffer;
  readonly offsets: readonly number[];
}

const templates = new WeakMap<object, Map<string, Template>>();

function buildTemplate(r: CheckResult): Template {
  const bytes = writeCheckResponse({ ...r, actionId: PLACEHOLDER });
  const offsets: number[] = [];
  for (let at = bytes.indexOf(PLACEHOLDER); at !== -1; at = bytes.indexOf(PLACEHOLDER, at + ID_LENGTH)) offsets.push(at);
  return { bytes, offsets };
}

/** True when a template can stand for this result: nothing request-specific beyond the id. */
function templatable(r: CheckResult): boolean {
  return (
    r.approvalId === undefined &&
    r.statusUrl === undefined &&
    r.retryAfterSeconds === undefined &&
    r.actionId.length === ID_LENGTH &&
    // A JSON-RPC error carries the request's id; an allowed MCP answer has no body.
    (r.mcp === undefined || r.decision.decision === 'allowed') &&
    // The A/B variant header differs between requests with the same decision.
    r.ab === undefined &&
    (r.request === undefined || r.request.clientAscendHeaders.length === 0)
  );
}

function templateFor(r: CheckResult): Template | undefined {
  let byAgent = templates.get(r.decision);
  if (byAgent === undefined) templates.set(r.decision, (byAgent = new Map()));
  const key = (r.cacheHit ? '1' : '0') + (r.action?.agent_id ?? '');
  let t = byAgent.get(key);
  if (t === undefined) {
    if (byAgent.size >= MAX_AGENTS) return undefined;
    byAgent.set(key, (t = buildTemplate(r)));
  }
  return t;
}

export function encodeCheckResponse(r: CheckResult): Buffer {
  return encode(r, 0);
}

/** The same answer as a gRPC length-prefixed message, ready for an HTTP/2 DATA frame. */
export function encodeCheckResponseFrame(r: CheckResult): Buffer {
  return encode(r, 5);
}

function encode(r: CheckResult, at: 0 | 5): Buffer {
  const t = templatable(r) ? templateFor(r) : undefined;
  if (t === undefined) {
    const message = writeCheckResponse(r);
    return at === 0 ? message : frameMessage(message);
  }
  const out = Buffer.allocUnsafe(at + t.bytes.length);
  if (at === 5) writeFrameHeader(out, t.bytes.length);
  t.bytes.copy(out, at);
  for (let i = 0; i < t.offsets.length; i++) out.write(r.actionId, at + (t.offsets[i] as number), 'latin1');
  return out;
}

/** Whether the `[name, value]` list holds `name` (staleAscendHeaders' test for Envoy's headers). */
function hasHeader(headers: readonly (readonly [string, string])[], name: string): boolean {
  return headers.some(([k]) => k === name);
}
