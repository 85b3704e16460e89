import type { AgentConfig } from '../config/schema.js';
import type { AgentView } from '../core/action.js';

/**
 * The config's agents by id, plus the mTLS principals that stand for them. Agents registered
 * through the API are passed in per lookup (they outlive a config reload); on a clash the
 * config's entry wins.
 */
export class AgentRegistry {
  private readonly byId = new Map<string, AgentView>();
  private readonly byPrincipal = new Map<string, string>();

  constructor(agents: readonly AgentConfig[]) {
    for (const a of agents) {
      this.byId.set(
        a.id,
        Object.freeze({ id: a.id, registered: true, type: a.type, capabilities: Object.freeze([...a.capabilities]), name: a.name }),
      );
      for (const p of a.principals ?? []) this.byPrincipal.set(p, a.id);
    }
  }

  view(id: string | null, registered?: ReadonlyMap<string, AgentView>): AgentView {
    if (id === null) return ANONYMOUS;
    return this.byId.get(id) ?? registered?.get(id) ?? { id, registered: false, type: undefined, capabilities: [], name: undefined };
  }

  /** Whether the config declares this agent (its entry then outranks a registration). */
  declares(id: string): boolean {
    return this.byId.has(id);
  }

  agentForPrincipal(principal: string): string | undefined {
    return this.byPrincipal.get(principal);
  }

  get size(): number {
    return this.byId.size;
  }
}

const ANONYMOUS: AgentView = Object.freeze({ id: null, registered: false, type: undefined, capabilities: [], name: undefined });
