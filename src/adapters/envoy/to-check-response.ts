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
import { decisionHeaders, denialBody, staleAscendHeaders } from '../render.js';

const { Writer } = protobuf;
type W = protobuf.Writer;

export const GRPC_PERMISSION_DENIED = 7;
/** core.v3.HeaderValueOption.HeaderAppendAction */
const OVERWRITE_IF_EXISTS_OR_ADD = 2;

function headerOption(w: W, field: number, key: string, value: string): void {
  w.uint32((field << 3) | 2).fork();
  w.uint32(10).fork().uint32(10).string(key).uint32(18).string(value).ldelim();
  w.uint32(24).int32(OVERWRITE_IF_EXISTS_OR_ADD);
  w.ldelim();
}

function structField(w: W, key: string, v: string | number | boolean | null): void {
  w.uint32(10).fork(); // map entry
  w.uint32(10).string(key);
  w.uint32(18).fork(); // Value
  if (v === null) w.uint32(8).int32(0);
  else if (typeof v === 'number') w.uint32(17).double(v);
  else if (typeof v === 'boolean') w.uint32(32).bool(v);
  else w.uint32(26).string(v);
  w.ldelim();
  w.ldelim();
}

function dynamicMetadata(w: W, r: CheckResult): void {
  w.uint32(34).fork();
  structField(w, 'decision', r.decision.decision);
  structField(w, 'action_id', r.actionId);
  structField(w, 'policy_id', r.decision.policyId);
  structField(w, 'risk_score', r.decision.riskScore);
  structField(w, 'cache_hit', r.cacheHit);
  if (r.approvalId !== undefined) structField(w, 'approval_id', r.approvalId);
  if (r.action?.agent_id) structField(w, 'agent_id', r.action.agent_id);
  w.ldelim();
}

export function encodeCheckResponse(r: CheckResult): Buffer {
  const w = Writer.create();
  const d = r.decision;
  const allowed = d.decision === 'allowed';
  const headers = decisionHeaders(r);
  // status: proto3 omits the zero code, so an allow's status is empty.
  w.uint32(10).fork();
  if (!allowed) w.uint32(8).int32(GRPC_PERMISSION_DENIED).uint32(18).string(d.reason);
  w.ldelim();
  if (allowed) {
    w.uint32(26).fork();
    for (const [k, v] of headers) headerOption(w, 2, k, v);
    for (const name of staleAscendHeaders(r, headers)) w.uint32(42).string(name);
    w.ldelim();
  } else {
    w.uint32(18).fork();
    w.uint32(10).fork().uint32(8).int32(d.httpStatus).ldelim();
    headerOption(w, 2, 'content-type', 'application/json');
    for (const [k, v] of headers) headerOption(w, 2, k, v);
    w.uint32(26).string(denialBody(r));
    w.ldelim();
  }
  dynamicMetadata(w, r);
  return Buffer.from(w.finish());
}
