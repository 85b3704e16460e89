/**
 * The AWS Lambda authorizer (issue 18 item 6): API Gateway REST API REQUEST and TOKEN events and
 * HTTP API payload 2.0 events, shaped as AWS's documentation shows them (API Gateway itself cannot
 * run here: the events are the stand-in), through the same in-process pipeline as `serve`:
 * IAM policies and simple responses, the decision in the context, the decision log on stdout.
 * Also: `ascend-sidecar/lambda` resolves as a package export of the built package.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { writeConfig, type LogLine } from './helpers/app.js';
import { createHandler, type AuthorizerHandler } from '../src/lambda/handler.js';

const CONFIG = `
identity: {sources: [{header: x-agent-id}, {header: authorization}]}
agents: [{id: billing-agent, type: supervised}]
routes:
  - match: {methods: [POST], path: "/v1/refunds/{refund_id}"}
    action_type: payments.refund
    resource: "refund/{refund_id}"
    parameters: {amount: "{query.amount}"}
  - match: {methods: [GET], path: "/v1/orders/**"}
    action_type: orders.read
    resource: orders
policies:
  - {id: pol_refund_large, priority: 80, conditions: {action_type: payments.refund, parameters.amount: {gt: 1000}}, action: require_approval, approvers: [finance]}
  - {id: pol_refund_small, priority: 50, conditions: {action_type: payments.refund, agent.type: supervised}, action: allow}
  - {id: pol_orders, priority: 10, conditions: {action_type: orders.read}, action: allow}
`;

const METHOD_ARN = 'arn:aws:execute-api:us-east-1:123456789012:abcdef123/test/POST/v1/refunds/r-1';

/** A REST API REQUEST authorizer event (AWS docs: "Input to a REQUEST authorizer"). */
function restRequest(method: string, path: string, query: Record<string, string>, headers: Record<string, string>) {
  return {
    type: 'REQUEST',
    methodArn: `arn:aws:execute-api:us-east-1:123456789012:abcdef123/test/${method}${path}`,
    resource: path, path, httpMethod: method,
    headers: { Host: 'abcdef123.execute-api.us-east-1.amazonaws.com', ...headers },
    multiValueHeaders: { Host: ['abcdef123.execute-api.us-east-1.amazonaws.com'], ...Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])) },
    queryStringParameters: query,
    multiValueQueryStringParameters: Object.fromEntries(Object.entries(query).map(([k, v]) => [k, [v]])),
    pathParameters: {}, stageVariables: {},
    requestContext: {
      path: `/test${path}`, accountId: '123456789012', resourceId: '05c7jb', stage: 'test', requestId: 'c6af9ac6-7b61-11e6-9a41-93e8deadbeef',
      identity: { apiKey: '', sourceIp: '203.0.113.7' }, resourcePath: path, httpMethod: method, apiId: 'abcdef123',
    },
  };
}

/** An HTTP API payload 2.0 authorizer event (AWS docs: "Lambda authorizer payload format version 2.0"). */
function httpV2(method: string, rawPath: string, rawQueryString: string, headers: Record<string, string>) {
  return {
    version: '2.0', type: 'REQUEST',
    routeArn: `arn:aws:execute-api:us-east-1:123456789012:abcdef123/$default/${method}${rawPath}`,
    identitySource: [headers['x-agent-id'] ?? ''], routeKey: `${method} ${rawPath}`, rawPath, rawQueryString,
    cookies: ['session=abc'], headers: { host: 'api.example.com', ...headers },
    queryStringParameters: Object.fromEntries(new URLSearchParams(rawQueryString)),
    requestContext: {
      accountId: '123456789012', apiId: 'abcdef123', domainName: 'api.example.com', domainPrefix: 'api',
      http: { method, path: rawPath, protocol: 'HTTP/1.1', sourceIp: '198.51.100.4', userAgent: 'agent-sdk/1.4' },
      requestId: 'id-v2', routeKey: `${method} ${rawPath}`, stage: '$default', time: '12/Mar/2026:19:03:58 +0000', timeEpoch: 1773342238000,
    },
    pathParameters: {}, stageVariables: {},
  };
}

describe('Lambda authorizer', () => {
  let handle: AuthorizerHandler;
  const logs: LogLine[] = [];
  beforeAll(async () => {
    const { path } = writeConfig(CONFIG);
    handle = await createHandler({ configPath: path, logger: pino({}, { write: (s: string) => void logs.push(JSON.parse(s) as LogLine) }) });
  });

  it('REST REQUEST: an IAM Allow on the method ARN, the decision in the context', async () => {
    const e = restRequest('POST', '/v1/refunds/r-1', { amount: '50' }, { 'x-agent-id': 'billing-agent' });
    const a = await handle(e) as any;
    expect(a).toMatchObject({
      principalId: 'billing-agent',
      policyDocument: { Version: '2012-10-17', Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: e.methodArn }] },
      context: { decision: 'allowed', policy_id: 'pol_refund_small', code: 'policy_allow', agent_id: 'billing-agent' },
    });
    for (const v of Object.values(a.context)) expect(['string', 'number', 'boolean']).toContain(typeof v);
    expect(logs.at(-1)).toMatchObject({ kind: 'decision', adapter: 'lambda', action_type: 'payments.refund', resource: 'refund/r-1', path: '/v1/refunds/r-1', decision: 'allowed' });
  });

  it('REST REQUEST: pending is a Deny with the approval id; multi-value query keys are read', async () => {
    const a = await handle(restRequest('POST', '/v1/refunds/r-2', { amount: '5000' }, { 'x-agent-id': 'billing-agent' })) as any;
    expect(a.policyDocument.Statement[0].Effect).toBe('Deny');
    expect(a.context).toMatchObject({ decision: 'pending', policy_id: 'pol_refund_large', code: 'approval_required' });
    expect(a.context.approval_id).toMatch(/^apr_/);
  });

  it('REST TOKEN: method and path from the method ARN, the token as the authorization header', async () => {
    const a = await handle({ type: 'TOKEN', authorizationToken: 'billing-agent', methodArn: 'arn:aws:execute-api:us-east-1:123456789012:abcdef123/test/GET/v1/orders/o-9' }) as any;
    expect(a).toMatchObject({ principalId: 'billing-agent', context: { decision: 'allowed', policy_id: 'pol_orders' } });
    expect(a.policyDocument.Statement[0]).toMatchObject({ Effect: 'Allow', Resource: 'arn:aws:execute-api:us-east-1:123456789012:abcdef123/test/GET/v1/orders/o-9' });
    const denied = await handle({ type: 'TOKEN', authorizationToken: 'billing-agent', methodArn: METHOD_ARN.replace('POST/v1/refunds/r-1', 'DELETE/admin/users') }) as any;
    expect(denied.policyDocument.Statement[0].Effect).toBe('Deny');
    expect(denied.context.code).toBe('default_deny');
  });

  it('HTTP API 2.0: the simple response; a traversal is judged on the canonical path', async () => {
    expect(await handle(httpV2('POST', '/v1/refunds/r-3', 'amount=20', { 'x-agent-id': 'billing-agent' }))).toMatchObject({ isAuthorized: true, context: { decision: 'allowed' } });
    const big = await handle(httpV2('POST', '/v1/refunds/r-3', 'amount=20000', { 'x-agent-id': 'billing-agent' }));
    expect(big).toMatchObject({ isAuthorized: false, context: { decision: 'pending' } });
    const sneaky = await handle(httpV2('GET', '/v1/orders/../../admin/users', '', { 'x-agent-id': 'billing-agent' }));
    expect(sneaky).toMatchObject({ isAuthorized: false, context: { code: 'default_deny' } });
    expect(logs.at(-1)).toMatchObject({ path: '/admin/users', raw_target: '/v1/orders/../../admin/users' });
  });

  it('HTTP API 2.0 with IAM answers, and a non-authorizer event is denied', async () => {
    const { path } = writeConfig(CONFIG);
    const iam = await createHandler({ configPath: path, httpApiResponse: 'iam', logger: pino({ level: 'silent' }) });
    const e = httpV2('GET', '/v1/orders/o-1', '', { 'x-agent-id': 'billing-agent' });
    expect(await iam(e)).toMatchObject({ principalId: 'billing-agent', policyDocument: { Statement: [{ Effect: 'Allow', Resource: e.routeArn }] } });
    expect(await iam({ hello: 'world' })).toMatchObject({ isAuthorized: false, context: { decision: 'denied', code: 'invalid_request' } });
  });

  it('is the package export ascend-sidecar/lambda (built)', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', "const m = await import('ascend-sidecar/lambda'); console.log(typeof m.handler, typeof m.createHandler)"], { cwd: new URL('..', import.meta.url).pathname });
    expect(stdout.trim()).toBe('function function');
  }, 60_000);
});
