/**
 * AWS API Gateway Lambda authorizer events → RawGatewayRequest, and a decision → the answer
 * API Gateway applies. Translation only. Event and answer shapes as AWS documents them
 * ("Input to an API Gateway Lambda authorizer", "Output from an API Gateway Lambda authorizer",
 * "Working with AWS Lambda authorizers for HTTP APIs"):
 *
 * - REST API `REQUEST` (v1): httpMethod, path, headers / multiValueHeaders,
 *   queryStringParameters / multiValueQueryStringParameters, requestContext.identity.sourceIp,
 *   methodArn;
 * - REST API `TOKEN`: authorizationToken and methodArn only — the method and path are read from
 *   the ARN (`arn:aws:execute-api:region:account:api-id/stage/METHOD/path`), the token is the
 *   `authorization` header;
 * - HTTP API `REQUEST` payload 2.0: requestContext.http.{method, path, sourceIp}, rawPath,
 *   rawQueryString, headers (repeated values already joined with ","), cookies, routeArn.
 *
 * REST APIs get an IAM policy (Allow or Deny `execute-api:Invoke` on the method ARN); HTTP APIs
 * the simple response `{isAuthorized, context}` (enableSimpleResponses), or an IAM policy on the
 * route ARN when ASCEND_LAMBDA_RESPONSE=iam. The decision travels in `context` (strings, numbers
 * and booleans only, as API Gateway requires), where the backend reads it as
 * `$context.authorizer.*` (REST) or `$context.authorizer.lambda.*` (HTTP API).
 */
import type { RawGatewayRequest } from '../gateway/request.js';
import type { CheckResult } from '../pipeline/result.js';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

export type EventKind = 'rest_request' | 'rest_token' | 'http_v2';

export class LambdaEventError extends Error {}

export function eventKind(e: unknown): EventKind {
  if (!isObj(e)) throw new LambdaEventError('the event is not an object');
  if (e.version === '2.0') return 'http_v2';
  if (e.type === 'TOKEN') return 'rest_token';
  if (e.type === 'REQUEST') return 'rest_request';
  throw new LambdaEventError('not an API Gateway authorizer event (no version "2.0", no type TOKEN or REQUEST)');
}

/** `arn:aws:execute-api:us-east-1:123456789012:abcdef123/prod/GET/v1/orders/1` → method and path. */
export function fromMethodArn(arn: string): { method: string; path: string } {
  const resource = arn.split(':').slice(5).join(':');
  const [, , method, ...rest] = resource.split('/');
  if (method === undefined) throw new LambdaEventError(`methodArn "${arn}" names no method`);
  return { method, path: `/${rest.join('/')}` };
}

function query(single: unknown, multi: unknown): string {
  const parts: string[] = [];
  const enc = encodeURIComponent;
  if (isObj(multi)) {
    for (const [k, vs] of Object.entries(multi)) for (const v of Array.isArray(vs) ? vs : []) parts.push(`${enc(k)}=${enc(String(v))}`);
  } else if (isObj(single)) {
    for (const [k, v] of Object.entries(single)) if (v !== null && v !== undefined) parts.push(`${enc(k)}=${enc(String(v))}`);
  }
  return parts.join('&');
}

function headers(single: unknown, multi: unknown): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  if (isObj(multi)) {
    for (const [k, vs] of Object.entries(multi)) if (Array.isArray(vs)) out[k] = vs.map(String);
  } else if (isObj(single)) {
    for (const [k, v] of Object.entries(single)) if (typeof v === 'string') out[k] = v;
  }
  return out;
}

export function fromAuthorizerEvent(e: Obj, kind: EventKind): RawGatewayRequest {
  if (kind === 'rest_token') {
    const arn = str(e.methodArn) ?? '';
    const { method, path } = fromMethodArn(arn);
    return { adapter: 'lambda', method, target: path, host: '', scheme: 'https', headers: { authorization: str(e.authorizationToken) ?? '' } };
  }
  if (kind === 'rest_request') {
    const ctx = isObj(e.requestContext) ? e.requestContext : {};
    const identity = isObj(ctx.identity) ? ctx.identity : {};
    const h = headers(e.headers, e.multiValueHeaders);
    const q = query(e.queryStringParameters, e.multiValueQueryStringParameters);
    // `path` is the request path; without it (a test invoke) the ARN names it.
    const path = str(e.path) ?? fromMethodArn(str(e.methodArn) ?? '').path;
    const host = str(ctx.domainName) ?? (typeof h.Host === 'string' ? h.Host : typeof h.host === 'string' ? h.host : '');
    return {
      adapter: 'lambda', method: str(e.httpMethod) ?? fromMethodArn(str(e.methodArn) ?? '').method, target: q === '' ? path : `${path}?${q}`,
      host, scheme: 'https', headers: h, sourceIp: str(identity.sourceIp), requestId: str(ctx.requestId),
    };
  }
  const ctx = isObj(e.requestContext) ? e.requestContext : {};
  const http = isObj(ctx.http) ? ctx.http : {};
  const h: Record<string, string> = {};
  if (isObj(e.headers)) for (const [k, v] of Object.entries(e.headers)) if (typeof v === 'string') h[k] = v;
  if (Array.isArray(e.cookies) && h.cookie === undefined) h.cookie = e.cookies.join('; ');
  const path = str(e.rawPath) ?? str(http.path) ?? '/';
  const q = str(e.rawQueryString) ?? '';
  return {
    adapter: 'lambda', method: str(http.method) ?? '', target: q === '' ? path : `${path}?${q}`, host: str(ctx.domainName) ?? h.host ?? '',
    scheme: 'https', headers: h, sourceIp: str(http.sourceIp), requestId: str(ctx.requestId),
  };
}

/** The decision as authorizer context: flat strings, numbers and booleans. */
export function authorizerContext(r: CheckResult): Record<string, string | number | boolean> {
  const d = r.decision;
  const c: Record<string, string | number | boolean> = {
    decision: d.decision, action_id: r.actionId, risk_score: d.riskScore, code: d.code, reason: d.reason,
  };
  if (d.policyId !== null) c.policy_id = d.policyId;
  if (r.action?.agent_id) c.agent_id = r.action.agent_id;
  if (r.approvalId !== undefined) c.approval_id = r.approvalId;
  if (r.statusUrl !== undefined) c.status_url = r.statusUrl;
  return c;
}

export interface IamAnswer {
  principalId: string;
  policyDocument: { Version: '2012-10-17'; Statement: { Action: 'execute-api:Invoke'; Effect: 'Allow' | 'Deny'; Resource: string }[] };
  context: Record<string, string | number | boolean>;
}

export interface SimpleAnswer {
  isAuthorized: boolean;
  context: Record<string, string | number | boolean>;
}

export function iamAnswer(r: CheckResult, resource: string): IamAnswer {
  return {
    principalId: r.action?.agent_id ?? 'anonymous',
    policyDocument: { Version: '2012-10-17', Statement: [{ Action: 'execute-api:Invoke', Effect: r.decision.decision === 'allowed' ? 'Allow' : 'Deny', Resource: resource }] },
    context: authorizerContext(r),
  };
}

export function simpleAnswer(r: CheckResult): SimpleAnswer {
  return { isAuthorized: r.decision.decision === 'allowed', context: authorizerContext(r) };
}
