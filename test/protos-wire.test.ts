/**
 * Our hand-written protos and codec against Envoy's official definitions (shipped in the dev
 * dependency @grpc/grpc-js-xds): same field names, numbers and types for every message we
 * declare, and bytes that round-trip both ways.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { decodeCheckRequest, type EnvoyCheck } from '../src/adapters/envoy/decode-check-request.js';
import { PROTO_DIR } from '../src/adapters/envoy/protos.js';
import { encodeCheckResponse } from '../src/adapters/envoy/to-check-response.js';
import type { CheckResult } from '../src/pipeline/result.js';
import { checkRequest } from './helpers/grpc-client.js';

const require = createRequire(import.meta.url);
const XDS = join(dirname(require.resolve('@grpc/grpc-js-xds/package.json')), 'deps');
const OFFICIAL_DIRS = ['envoy-api', 'googleapis', 'xds', 'protoc-gen-validate'].map((d) => join(XDS, d));

function loadRoot(dirs: string[], files: string[]): protobuf.Root {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => {
    for (const d of dirs) {
      const p = join(d, target);
      try {
        require('node:fs').accessSync(p);
        return p;
      } catch {
        /* try the next include dir */
      }
    }
    return target;
  };
  root.loadSync(files, { keepCase: true });
  root.resolveAll();
  return root;
}

const FILES = ['envoy/service/auth/v3/external_auth.proto', 'grpc/health/v1/health.proto'];
const ours = loadRoot([PROTO_DIR], FILES);
const official = loadRoot(OFFICIAL_DIRS, ['envoy/service/auth/v3/external_auth.proto']);

function messages(ns: protobuf.NamespaceBase, out: protobuf.Type[] = []): protobuf.Type[] {
  for (const nested of ns.nestedArray) {
    if (nested instanceof protobuf.Type) out.push(nested);
    if (nested instanceof protobuf.Namespace || nested instanceof protobuf.Type) messages(nested, out);
  }
  return out;
}

describe('hand-written protos match Envoy', () => {
  const envoyTypes = messages(ours).filter((t) => t.fullName.startsWith('.envoy.') || t.fullName.startsWith('.google.rpc.'));

  it('declares the messages the server needs', () => {
    const names = envoyTypes.map((t) => t.fullName);
    for (const n of ['CheckRequest', 'CheckResponse', 'OkHttpResponse', 'DeniedHttpResponse', 'AttributeContext.HttpRequest', 'AttributeContext.Peer', 'AttributeContext.TLSSession']) {
      expect(names).toContain(`.envoy.service.auth.v3.${n}`);
    }
    for (const n of ['.envoy.config.core.v3.HeaderValueOption', '.envoy.config.core.v3.HeaderMap', '.envoy.config.core.v3.SocketAddress', '.envoy.config.core.v3.Metadata', '.envoy.type.v3.HttpStatus', '.google.rpc.Status']) {
      expect(names).toContain(n);
    }
  });

  it.each(envoyTypes.map((t) => [t.fullName, t] as const))('%s: every field has Envoy’s name, number, type and label', (name, t) => {
    const theirs = official.lookupType(name);
    for (const f of t.fieldsArray) {
      // error_response (5) is newer than the Envoy API copy in @grpc/grpc-js-xds.
      if (name === '.envoy.service.auth.v3.CheckResponse' && f.name === 'error_response') continue;
      const o = theirs.fields[f.name];
      expect(o, `${name}.${f.name} exists in Envoy`).toBeDefined();
      expect(o?.id, `${name}.${f.name} number`).toBe(f.id);
      expect(o?.resolvedType?.fullName ?? o?.type, `${name}.${f.name} type`).toBe(f.resolvedType?.fullName ?? f.type);
      expect(o?.repeated, `${name}.${f.name} repeated`).toBe(f.repeated);
      expect(o instanceof protobuf.MapField, `${name}.${f.name} map`).toBe(f instanceof protobuf.MapField);
    }
  });

  it('the StatusCode enum matches', () => {
    expect(ours.lookupEnum('envoy.type.v3.StatusCode').values).toEqual(official.lookupEnum('envoy.type.v3.StatusCode').values);
  });
});

describe('wire compatibility', () => {
  const OfficialReq = official.lookupType('envoy.service.auth.v3.CheckRequest');
  const OfficialRes = official.lookupType('envoy.service.auth.v3.CheckResponse');

  it('our decoder reads a CheckRequest encoded with Envoy’s definitions', () => {
    const obj = checkRequest({
      method: 'POST',
      path: '/v1/refunds/r-1?amount=1500',
      host: 'Pay.Internal:443',
      scheme: 'https',
      headers: { 'x-agent-id': 'billing-agent' },
      principal: 'spiffe://cluster.local/ns/pay/sa/billing',
      sourceIp: '10.1.2.3',
      jwtPayload: { sub: 'billing-agent', scopes: ['a', 'b'], n: 3, ok: true, nested: { x: null } },
      body: '{"a":1}',
      id: 'req-77',
    }) as Record<string, Record<string, unknown>>;
    obj.attributes!.context_extensions = { tenant: 'acme' };
    obj.attributes!.tls_session = { sni: 'pay.internal' };
    (obj.attributes!.request as Record<string, Record<string, unknown>>).http!.size = 7;
    const bytes = OfficialReq.encode(OfficialReq.fromObject(obj)).finish();
    const c = decodeCheckRequest(bytes) as EnvoyCheck;
    expect(c).toMatchObject({
      id: 'req-77', method: 'POST', path: '/v1/refunds/r-1?amount=1500', host: 'Pay.Internal:443', scheme: 'https', protocol: 'HTTP/1.1', size: 7, body: '{"a":1}',
      sourceAddress: '10.1.2.3', sourcePrincipal: 'spiffe://cluster.local/ns/pay/sa/billing', contextExtensions: { tenant: 'acme' }, sni: 'pay.internal',
    });
    expect(c.headers['x-agent-id']).toBe('billing-agent');
    expect(c.metadata).toEqual({ 'envoy.filters.http.jwt_authn': { jwt_payload: { sub: 'billing-agent', scopes: ['a', 'b'], n: 3, ok: true, nested: { x: null } } } });
  });

  it('reads header_map (encode_raw_headers) including raw_value and repeated names', () => {
    const obj = { attributes: { request: { http: { method: 'GET', path: '/', header_map: { headers: [{ key: 'X-A', raw_value: Buffer.from('1') }, { key: 'x-a', value: '2' }] } } } } };
    const c = decodeCheckRequest(OfficialReq.encode(OfficialReq.fromObject(obj)).finish()) as EnvoyCheck;
    expect(c.headers['x-a']).toBe('1,2');
  });

  it('Envoy’s definitions read the CheckResponse we encode', () => {
    const result = {
      adapter: 'envoy', actionId: 'a-1', approvalId: 'apr_1', retryAfterSeconds: 30, action: undefined, request: undefined, route: undefined, cacheHit: false, latencyUs: 1,
      decision: { decision: 'pending', reason: 'needs approval', code: 'approval_required', policyId: 'p1', policyName: 'P', riskScore: 42, flagged: false, approvers: ['x'], workflow: undefined, monitor: undefined, failOpen: false, httpStatus: 403 },
    } satisfies CheckResult;
    const res = OfficialRes.toObject(OfficialRes.decode(encodeCheckResponse(result)), { enums: String, oneofs: true, defaults: false }) as Record<string, any>;
    expect(res.status).toEqual({ code: 7, message: 'needs approval' });
    expect(res.http_response).toBe('denied_response');
    expect(res.denied_response.status.code).toBe('Forbidden');
    expect(res.denied_response.headers.map((h: any) => [h.header.key, h.header.value, h.append_action])).toContainEqual(['x-ascend-approval-id', 'apr_1', 'OVERWRITE_IF_EXISTS_OR_ADD']);
    expect(JSON.parse(res.denied_response.body)).toMatchObject({ decision: 'pending', approval_id: 'apr_1', policy_id: 'p1' });
    expect(res.dynamic_metadata.fields.risk_score).toMatchObject({ numberValue: 42 });
    expect(res.dynamic_metadata.fields.decision).toMatchObject({ stringValue: 'pending' });

    const allowed = { ...result, approvalId: undefined, retryAfterSeconds: undefined, decision: { ...result.decision, decision: 'allowed' as const, httpStatus: 200 } };
    const ok = OfficialRes.toObject(OfficialRes.decode(encodeCheckResponse(allowed)), { oneofs: true, defaults: false }) as Record<string, any>;
    expect(ok.status).toEqual({});
    expect(ok.http_response).toBe('ok_response');
    expect(ok.ok_response.headers.map((h: any) => h.header.key)).toEqual(['x-ascend-decision', 'x-ascend-action-id', 'x-ascend-risk-score', 'x-ascend-policy-id']);
  });
});
