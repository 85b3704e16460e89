/**
 * GatewayRequest → action (docs/architecture.md, "Map"): identity, then the first matching route, or the
 * documented default action `http.<method>` on `<host><path>` for unmatched requests.
 */
import type { ActionRequest, AgentView, EvalInput } from '../core/action.js';
import type { GatewayRequest } from '../gateway/request.js';
import type { AgentRegistry } from './agents.js';
import { resolveAgent, type IdentitySource } from './identity.js';
import { pathSegments } from './path-template.js';
import type { RouteTable } from './routes.js';
import type { TemplateScope } from './template.js';

export interface Mapped {
  readonly input: EvalInput;
  /** Name of the route that matched; undefined for the default action. */
  readonly route: string | undefined;
}

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
  constructor(
    private readonly routes: RouteTable,
    private readonly identity: readonly IdentitySource[],
    readonly agents: AgentRegistry,
  ) {}

  /** `registered`: agents registered through the API (the config's own agents win a clash). */
  map(req: GatewayRequest, registered?: ReadonlyMap<string, AgentView>): Mapped {
    const agentId = resolveAgent(this.identity, req, this.agents);
    const segments = pathSegments(req.path);
    const m = this.routes.match(req, segments);
    let action: ActionRequest;
    if (m) {
      const scope: TemplateScope = { req, captures: m.captures, agentId };
      action = {
        agent_id: agentId,
        action_type: m.route.actionType.renderString(scope),
        resource: m.route.resource.renderString(scope),
        parameters: m.route.parameters(scope),
        context: withGateway(m.route.context(scope), req),
      };
    } else {
      action = {
        agent_id: agentId,
        action_type: `http.${req.method.toLowerCase()}`,
        resource: `${req.host}${req.path}`,
        parameters: {},
        context: { gateway: gatewayContext(req) },
      };
    }
    return {
      input: { action, agent: this.agents.view(agentId, registered), request: req, risk: { score: 0 } },
      route: m?.route.name,
    };
  }
}
