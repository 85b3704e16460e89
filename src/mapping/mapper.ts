/**
 * GatewayRequest → action (docs/architecture.md, "Map"): identity, then the first matching route, or the
 * documented default action `http.<method>` on `<host><path>` for unmatched requests. The body
 * is parsed here, once, and only when the matched route or a policy reads it; an `mcp` route
 * yields one action per governed JSON-RPC call (mapping/mcp.ts).
 */
import type { ActionRequest, AgentView, EvalInput } from '../core/action.js';
import { RequestError } from '../core/errors.js';
import { parseBody, readBody, type BodyLimits, type RequestBody } from '../gateway/body.js';
import type { GatewayRequest } from '../gateway/request.js';
import type { AgentRegistry } from './agents.js';
import { resolveAgent, type IdentitySource } from './identity.js';
import { parseMcp, type JsonRpcId, type McpCall } from './mcp.js';
import { McpMemo, type McpParsed } from './mcp-memo.js';
import { pathSegments } from './path-template.js';
import type { CompiledRoute, RouteMatch, RouteTable } from './routes.js';
import type { TemplateScope } from './template.js';

/** What an `mcp` request maps to: one input per governed call, and who an error answers. */
export interface McpMapped {
  /** Empty when the message holds nothing governed (initialize, ping, lists, notifications). */
  readonly inputs: readonly EvalInput[];
  readonly ids: readonly JsonRpcId[];
  readonly batch: boolean;
}

export interface Mapped {
  /** The action (the first governed call's on an `mcp` route; its first method's when none is governed). */
  readonly input: EvalInput;
  /** Name of the route that matched; undefined for the default action. */
  readonly route: string | undefined;
  /** Set on an `mcp` route. */
  readonly mcp?: McpMapped;
}

export interface MapperOptions {
  readonly body: BodyLimits;
  /** A policy condition reads `body…`: every request's body is parsed. */
  readonly policiesReadBody: boolean;
}

const NO_BODY_OPTIONS: MapperOptions = { body: { maxBytes: 1024 * 1024, maxDepth: 32 }, policiesReadBody: false };

/** Adds `gateway` to a freshly rendered context object (no copy). */
function withGateway(ctx: Record<string, unknown>, req: GatewayRequest): Record<string, unknown> {
  ctx.gateway = gatewayContext(req);
  return ctx;
}

/** Gateway facts every action carries under `context.gateway` (set by the sidecar, never by clients). */
export function gatewayContext(req: GatewayRequest): Record<string, unknown> {
  const g: Record<string, unknown> = { adapter: req.adapter };
  if (req.sourceIp !== undefined) g.source_ip = req.sourceIp;
  if (req.principal !== undefined) g.principal = req.principal;
  if (req.facts?.route !== undefined) g.route = req.facts.route;
  if (req.facts?.service !== undefined) g.service = req.facts.service;
  if (req.facts?.consumer !== undefined) g.consumer = req.facts.consumer;
  return g;
}

export class Mapper {
  /** Parsed MCP bodies by their text (mcp-memo.ts): one per config version, like the Mapper. */
  private readonly mcpMemo = new McpMemo();

  constructor(
    private readonly routes: RouteTable,
    private readonly identity: readonly IdentitySource[],
    readonly agents: AgentRegistry,
    private readonly opts: MapperOptions = NO_BODY_OPTIONS,
  ) {}

  /** `registered`: agents registered through the API (the config's own agents win a clash). */
  map(req: GatewayRequest, registered?: ReadonlyMap<string, AgentView>): Mapped {
    const agentId = resolveAgent(this.identity, req, this.agents);
    const segments = pathSegments(req.path);
    const m = this.routes.match(req, segments);
    const agent = this.agents.view(agentId, registered);
    if (m === undefined) {
      const action: ActionRequest = {
        agent_id: agentId,
        action_type: `http.${req.method.toLowerCase()}`,
        resource: `${req.host}${req.path}`,
        parameters: {},
        context: { gateway: gatewayContext(req) },
      };
      const body = this.opts.policiesReadBody ? this.body(req, 'deny') : undefined;
      return { input: { action, agent, request: req, body, risk: { score: 0 } }, route: undefined };
    }
    const route = m.route;
    if (route.mcp !== undefined) return this.mapMcp(req, m, agentId, agent);
    const body = route.readsBody || this.opts.policiesReadBody ? this.body(req, route.onInvalidBody) : undefined;
    const action = render(route, { req, captures: m.captures, agentId, body }, agentId, undefined);
    return { input: { action, agent, request: req, body, risk: { score: 0 } }, route: route.name };
  }

  /** The parsed body; per the route, one that cannot be read denies (`invalid_body`) or is left out. */
  private body(req: GatewayRequest, onInvalid: 'deny' | 'ignore'): RequestBody | undefined {
    try {
      return parseBody(req, this.opts.body);
    } catch (e) {
      if (onInvalid === 'ignore' && e instanceof RequestError) return undefined;
      throw e;
    }
  }

  private mapMcp(req: GatewayRequest, m: RouteMatch, agentId: string | null, agent: AgentView): Mapped {
    const route = m.route;
    const mcp = route.mcp as NonNullable<CompiledRoute['mcp']>;
    const { body, message, digest } = this.parseMcpBody(req, route, mcp);
    const inputFor = (call: McpCall): EvalInput => {
      const scope: TemplateScope = { req, captures: m.captures, agentId, body, mcp: call };
      const action = render(route, scope, agentId, mcp.argumentsAsParameters ? call.arguments : undefined);
      // The arguments are those of the call at this position of the body text with this digest.
      const parametersKey = mcp.argumentsAsParameters && call.position !== undefined ? `${call.position}:${digest}` : undefined;
      return { action, agent, request: req, body, parametersKey, risk: { score: 0 } };
    };
    const inputs = message.calls.map(inputFor);
    const first = inputs[0] ?? inputFor({ method: message.firstMethod, arguments: {} });
    return { input: first, route: route.name, mcp: { inputs, ids: message.ids, batch: message.batch } };
  }

  /** The body as JSON-RPC: from the memo when this exact text was parsed on this route before. */
  private parseMcpBody(req: GatewayRequest, route: CompiledRoute, mcp: NonNullable<CompiledRoute['mcp']>): McpParsed {
    const text = req.body;
    // A partial body is never taken from the memo: parseBody answers it (body_truncated on read).
    const memo = text === undefined || req.bodyPartial ? undefined : this.mcpMemo.get(route, text, this.opts.body.maxBytes);
    if (memo !== undefined) return memo;
    let body: RequestBody | undefined;
    try {
      body = parseBody(req, this.opts.body, true);
    } catch (e) {
      throw e instanceof RequestError && e.code === 'invalid_body' ? new RequestError('invalid_mcp', e.message) : e;
    }
    if (body === undefined) throw new RequestError('invalid_mcp', 'an mcp route needs a JSON-RPC body');
    const message = parseMcp(readBody(body), mcp.isGoverned, mcp.maxBatch);
    return this.mcpMemo.put(route, text as string, body, message);
  }
}

/** A route's templates rendered; `parameters` replaces the route's own (an MCP call's arguments). */
function render(route: CompiledRoute, scope: TemplateScope, agentId: string | null, parameters: Record<string, unknown> | undefined): ActionRequest {
  return {
    agent_id: agentId,
    action_type: route.actionType.renderString(scope),
    resource: route.resource.renderString(scope),
    parameters: parameters ?? route.parameters(scope),
    context: withGateway(route.context(scope), scope.req),
  };
}
