/**
 * The console's other pages: agents (configured and registered, last heartbeat, recent
 * decisions, the kill switch for admins), recent decisions (the live feed's backlog), policies
 * (hits and monitor-mode would-denies since this process started), webhooks (subscriptions with
 * masked URLs and no secrets, dead letters, requeue for admins). Same roles as the REST API.
 */
import { Type as T } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { healthView, killSwitchView } from '../api/agent-views.js';
import { requireLayer, requireStored } from '../api/context.js';
import { notFound } from '../api/errors.js';
import { configView, storedView } from '../api/webhooks.js';
import { auditView, deadLetterView } from '../api/views.js';
import type { AgentRecord } from '../approvals/store/agent-records.js';
import { parseSince } from '../policy/suggest-audit.js';
import { buildBrief } from '../report/brief.js';
import { briefHtml } from '../report/html.js';
import type { ConsoleContext } from './context.js';
import type { ConsoleDecisions } from './decisions.js';

const AgentParams = T.Object({ id: T.String({ minLength: 1, maxLength: 256 }) });
const KillBody = T.Object({ reason: T.String({ minLength: 1, maxLength: 1000 }) }, { additionalProperties: false });
const DeadParams = T.Object({ id: T.Integer({ minimum: 1 }) });

async function registeredAgents(ctx: ConsoleContext): Promise<AgentRecord[]> {
  const { store } = requireLayer(ctx.deps);
  const out: AgentRecord[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.listAgents({ limit: 200, ...(cursor ? { cursor } : {}) });
    out.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor !== undefined && out.length < 2000);
  return out;
}

function agentRoutes(api: FastifyInstance, ctx: ConsoleContext): void {
  const { deps } = ctx;
  api.get('/agents', async () => {
    const { store } = requireLayer(deps);
    const configured = deps.state.runtime.config.agents;
    const registered = await registeredAgents(ctx);
    const ids = [...new Set([...configured.map((a) => a.id), ...registered.map((a) => a.agent_id)])].sort();
    const now = deps.now();
    const items = await Promise.all(ids.map(async (id) => {
      const conf = configured.find((a) => a.id === id);
      const reg = registered.find((a) => a.agent_id === id);
      const [hb, recent] = await Promise.all([store.getHeartbeat(id), store.queryAudit({ limit: 5, agent_id: id })]);
      return {
        agent_id: id, display_name: reg?.display_name ?? conf?.name ?? null, agent_type: conf?.type ?? reg?.agent_type ?? null,
        source: conf ? (reg ? 'config+registry' : 'config') : 'registry', environment: reg?.environment ?? null,
        health: healthView(id, hb, now), kill_switch: killSwitchView(id, deps.agents.directory.blocked.get(id)),
        recent: recent.items.map(auditView),
      };
    }));
    return { items, server_time: new Date(now).toISOString() };
  });

  api.post('/agents/:id/kill-switch', { schema: { params: AgentParams, body: KillBody } }, async (req) => {
    const s = await ctx.session(req, ['admin']);
    const { id } = req.params as { id: string };
    const o = await requireStored(deps.agents.killSwitch).block({ agent_id: id, actor: s.principal.name, reason: (req.body as { reason: string }).reason });
    deps.logger.warn({ agent_id: id, api_key: s.principal.name, changed: o.changed, via: 'console' }, 'kill switch: agent blocked');
    return { ...killSwitchView(id, o.block), changed: o.changed };
  });

  api.post('/agents/:id/unblock', { schema: { params: AgentParams } }, async (req) => {
    const s = await ctx.session(req, ['admin']);
    const { id } = req.params as { id: string };
    const o = await requireStored(deps.agents.killSwitch).unblock({ agent_id: id, actor: s.principal.name, reason: null });
    deps.logger.warn({ agent_id: id, api_key: s.principal.name, changed: o.changed, via: 'console' }, 'kill switch: block lifted');
    return { ...killSwitchView(id, o.block), changed: o.changed };
  });
}

function webhookRoutes(api: FastifyInstance, ctx: ConsoleContext): void {
  const { deps } = ctx;
  api.get('/webhooks', async () => {
    const { store } = requireLayer(deps);
    const stored = await store.listWebhooks();
    const dead = await store.listDeadLetters({ limit: 100 });
    const configured = deps.state.runtime.config.webhooks;
    return {
      subscriptions: [
        ...deps.state.runtime.webhooks.map((w) => configView(w)),
        ...stored.map((w) => storedView(w)),
      ],
      dead_letters: dead.items.map((r) => deadLetterView(r, configured)),
      outbox_depth: await store.outboxDepth(),
    };
  });

  api.post('/webhooks/dead-letters/:id/requeue', { schema: { params: DeadParams } }, async (req) => {
    const s = await ctx.session(req, ['admin']);
    const { id } = req.params as { id: number };
    if (!(await requireLayer(deps).store.requeueDeadLetter(id, deps.now()))) throw notFound('dead letter', String(id));
    requireLayer(deps).delivery.notify();
    deps.logger.info({ outbox_id: id, api_key: s.principal.name, via: 'console' }, 'dead letter requeued');
    return { requeued: true, id };
  });
}

export function opsRoutes(api: FastifyInstance, ctx: ConsoleContext, decisions: ConsoleDecisions): void {
  agentRoutes(api, ctx);
  webhookRoutes(api, ctx);
  const BriefQuery = T.Object({ since: T.Optional(T.String({ pattern: '^[0-9]{1,6}[dhm]$' })) });
  api.get('/brief', { schema: { querystring: BriefQuery } }, async (req) => {
    const since = parseSince((req.query as { since?: string }).since ?? '7d') as number;
    const until = ctx.deps.now();
    const policyNames = new Map(ctx.deps.state.runtime.config.policies.map((p) => [p.id, p.name]));
    return buildBrief(requireLayer(ctx.deps).store, { since: until - since, until, policyNames });
  });
  api.get('/brief.html', { schema: { querystring: BriefQuery } }, async (req, reply) => {
    const since = parseSince((req.query as { since?: string }).since ?? '7d') as number;
    const until = ctx.deps.now();
    const b = await buildBrief(requireLayer(ctx.deps).store, { since: until - since, until, policyNames: new Map(ctx.deps.state.runtime.config.policies.map((p) => [p.id, p.name])) });
    return reply.type('text/html; charset=utf-8').header('content-disposition', `attachment; filename="ascend-brief-${b.until.slice(0, 10)}.html"`).send(briefHtml(b));
  });
  api.get('/decisions', async () => ({ items: [...decisions.latest()].reverse(), since: new Date(decisions.since).toISOString() }));
  api.get('/policies', async () => {
    const rt = ctx.deps.state.runtime;
    return {
      since: new Date(decisions.since).toISOString(),
      mode: rt.config.mode ?? null,
      items: rt.config.policies.map((p) => ({
        id: p.id, name: p.name, priority: p.priority, enabled: p.enabled, mode: p.mode, action: p.action,
        approvers: p.approvers ?? null, workflow: p.workflow ?? null, ...decisions.policy(p.id),
      })),
      // A/B tests with their results per variant (this process's counts, as GET /api/ab-tests/{id}/results).
      ab_tests: ctx.deps.state.ab.tests(rt).map((t) => ctx.deps.state.ab.resultsView(t)),
    };
  });
}
