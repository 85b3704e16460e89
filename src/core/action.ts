/**
 * A parsed request body as conditions see it (`body.*`; parsed by gateway/body.ts), or the mark
 * of one the gateway cut short, which is never read as complete.
 */
export type RequestBody =
  | { readonly partial: false; readonly format: 'json' | 'form'; readonly value: unknown }
  | { readonly partial: true };

/** Agent ids are identifiers, not free text: this keeps logs, keys and headers unambiguous. */
export const AGENT_ID_PATTERN = '^[A-Za-z0-9._:@/+=~-]{1,256}$';

/**
 * An ASCEND action: who (agent) wants to do what (action_type) to which thing (resource),
 * with what parameters, in what context. Every entry point produces one of these.
 */
export interface ActionRequest {
  /** null when no configured identity source named an agent. */
  agent_id: string | null;
  action_type: string;
  resource: string;
  parameters: Record<string, unknown>;
  context: Record<string, unknown>;
}

/** Config agents are supervised or autonomous; the SDK may also register an `mcp_server`. */
export type AgentType = 'supervised' | 'autonomous' | 'mcp_server';

/** What conditions see as `agent.*`. Unregistered agents have no type and no capabilities. */
export interface AgentView {
  readonly id: string | null;
  readonly registered: boolean;
  readonly type: AgentType | undefined;
  readonly capabilities: readonly string[];
  readonly name: string | undefined;
}

/**
 * What conditions see as `request.*` (`request.source_ip` reads `sourceIp`); absent for actions
 * submitted through the REST API. A GatewayRequest is one, so no copy is made per check.
 */
export interface RequestView {
  readonly method: string;
  readonly path: string;
  readonly host: string;
  readonly scheme: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly query: Readonly<Record<string, string | string[]>>;
  readonly sourceIp: string | undefined;
  readonly principal: string | undefined;
  /**
   * Set on a view an edge forwarded to this sidecar (a control plane that is itself an edge):
   * the request facts it carried. Only these are known; the rest were never sent.
   */
  readonly forwardedFacts?: ReadonlySet<string> | undefined;
}

/** The document policy conditions are evaluated against. */
export interface EvalInput {
  readonly action: ActionRequest;
  readonly agent: AgentView;
  readonly request: RequestView | undefined;
  /** The parsed request body (`body.*`), when the config reads bodies and the request had one. */
  readonly body?: RequestBody | undefined;
  /**
   * Stands for `action.parameters` in the decision-cache key when they are a pure function of
   * text already in hand (an MCP call's arguments: its index and the SHA-256 of the raw body,
   * mapping/mcp-memo.ts), so a 4 KiB argument object is not serialized again for every request
   * (evaluator/fingerprint.ts).
   */
  readonly parametersKey?: string | undefined;
  readonly risk: { score: number };
}
