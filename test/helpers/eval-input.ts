/** Builds EvalInputs for unit tests. */
import type { ActionRequest, AgentView, EvalInput, RequestView } from '../../src/core/action.js';

export function evalInput(
  action: Partial<ActionRequest> = {},
  agent: Partial<AgentView> = {},
  request: Partial<RequestView> | null = {},
): EvalInput {
  return {
    action: { agent_id: 'billing-agent', action_type: 'payments.refund', resource: 'refund/r1', parameters: {}, context: {}, ...action },
    agent: { id: 'billing-agent', registered: true, type: 'supervised', capabilities: ['payments'], name: undefined, ...agent },
    request:
      request === null
        ? undefined
        : { method: 'POST', path: '/v1/refunds/r1', host: 'api.local', scheme: 'http', headers: {}, query: {}, sourceIp: undefined, principal: undefined, ...request },
    risk: { score: 0 },
  };
}
