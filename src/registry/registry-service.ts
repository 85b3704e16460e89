/**
 * The agent registry (POST/GET/PUT/DELETE /api/registry/agents): the store holds the records,
 * the directory the views every check reads. A change is written to the store first and then
 * to the directory, whose listener clears the decision cache.
 */
import type { AgentRecord } from '../approvals/store/agent-records.js';
import type { AgentStore } from '../approvals/store/agent-store.js';
import type { Page } from '../approvals/store/records.js';
import type { PageQuery } from '../approvals/store/store.js';
import type { Clock } from '../shared/runtime.js';
import type { AgentDirectory } from './directory.js';
import type { HeartbeatTracker } from './heartbeats.js';
import { forbiddenChanges, patched, registered, type Actor, type AgentPatch, type Registration } from './registration.js';

export interface RegistryDeps {
  readonly store: AgentStore;
  readonly directory: AgentDirectory;
  readonly heartbeats: HeartbeatTracker;
  readonly now: Clock;
}

export type UpdateResult =
  | { readonly ok: true; readonly agent: AgentRecord }
  | { readonly ok: false; readonly error: 'not_found' }
  | { readonly ok: false; readonly error: 'forbidden'; readonly fields: readonly string[] };

export class AgentRegistryService {
  constructor(private readonly deps: RegistryDeps) {}

  /** Idempotent: registering again answers the record, changed only where the caller may change it. */
  async register(r: Registration, actor: Actor): Promise<{ agent: AgentRecord; created: boolean }> {
    const existing = await this.deps.store.getAgent(r.agent_id);
    const agent = registered(existing, r, actor, this.deps.now());
    if (agent !== existing) await this.save(agent);
    return { agent, created: existing === undefined };
  }

  async update(agentId: string, patch: AgentPatch, actor: Actor): Promise<UpdateResult> {
    const existing = await this.deps.store.getAgent(agentId);
    if (!existing) return { ok: false, error: 'not_found' };
    const fields = forbiddenChanges(existing, patch, actor);
    if (fields.length) return { ok: false, error: 'forbidden', fields };
    const agent = patched(existing, patch, actor, this.deps.now());
    if (agent !== existing) await this.save(agent);
    return { ok: true, agent };
  }

  /** false if it was not registered. A block on the agent stays (the kill switch is by id). */
  async deregister(agentId: string): Promise<boolean> {
    const gone = await this.deps.store.deleteAgent(agentId);
    this.deps.directory.removeAgent(agentId);
    this.deps.heartbeats.forget(agentId);
    return gone;
  }

  get(agentId: string): Promise<AgentRecord | undefined> {
    return this.deps.store.getAgent(agentId);
  }

  list(q: PageQuery): Promise<Page<AgentRecord>> {
    return this.deps.store.listAgents(q);
  }

  private async save(agent: AgentRecord): Promise<void> {
    await this.deps.store.putAgent(agent);
    this.deps.directory.setAgent(agent);
  }
}
