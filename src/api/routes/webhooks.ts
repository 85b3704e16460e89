/**
 * Webhook subscriptions as the ASCEND SDK manages them (admin keys): GET /api/webhooks,
 * POST /api/webhooks/configure, PUT and DELETE /api/webhooks/{id}, POST /api/webhooks/{id}/test.
 * Subscriptions from the config file are listed (ids `cfg_…`) and can be tested, but change only
 * with the file. The dead-letter routes (audit.ts) share the prefix: their static segment
 * `dead-letters` wins over `:webhook_id` in fastify's router whatever the registration order.
 */
import { performance } from 'node:perf_hooks';
import type { FastifyInstance } from 'fastify';
import type { WebhookChange } from '../../approvals/store/records.js';
import type { WebhookWrite } from '../../approvals/store/store.js';
import { toSubscription } from '../../events/subscriptions.js';
import { TEST_EVENT, type NotificationFormat, type WebhookSubscription } from '../../events/types.js';
import { principalOf } from '../auth.js';
import { requireLayer, type ApiDeps } from '../context.js';
import { ApiError, notFound } from '../errors.js';
import { WebhookBody, WebhookChangeBody, WebhookDeleted, WebhookList, WebhookParams, WebhookTestView, WebhookView } from '../schemas.js';
import { checkEvents, checkTarget, configView, configWebhook, generateSecret, storedView } from '../webhooks.js';
import { errors } from '../error-docs.js';

const config = { roles: ['admin'] } as const;
const tags = ['webhooks'];

type Body = { url: string; events: string[]; secret?: string; agent_id?: string | null; format?: NotificationFormat };

/** 409 for the config's subscriptions, which change only with the file. */
function assertStored(deps: ApiDeps, webhookId: string): void {
  if (configWebhook(deps, webhookId)) throw new ApiError(409, 'read_only', `webhook ${webhookId} comes from the config file; change it there`);
}

/** The written record, or 404/409 for what the store refused. */
function written(w: WebhookWrite, webhookId: string, url: string | undefined) {
  if (w.ok) return w.webhook;
  if (w.error === 'url_taken') throw new ApiError(409, 'webhook_exists', `body.url: a webhook for ${url} already exists`, 'url');
  throw notFound('webhook', webhookId);
}

async function subscriptionFor(deps: ApiDeps, webhookId: string): Promise<WebhookSubscription> {
  const fromConfig = configWebhook(deps, webhookId);
  if (fromConfig) return fromConfig;
  const stored = await requireLayer(deps).store.getWebhook(webhookId);
  if (!stored) throw notFound('webhook', webhookId);
  return toSubscription(stored);
}

function manageRoutes(api: FastifyInstance, deps: ApiDeps): void {
  api.get('/webhooks', {
    config, schema: { tags, summary: "Webhook subscriptions: the API's and the config file's (secrets not shown)", response: { 200: WebhookList, ...errors({ store: true }) } },
  }, async () => {
    const stored = await requireLayer(deps).store.listWebhooks();
    return { webhooks: [...deps.state.runtime.webhooks.map(configView), ...stored.map((w) => storedView(w))] };
  });

  api.post('/webhooks/configure', {
    config, schema: { tags, summary: 'Subscribe a url to events (the answer shows the secret, once)', body: WebhookBody, response: { 201: WebhookView, ...errors({ body: true, store: true, codes: ['target_refused', 'webhook_exists'] }) } },
  }, async (req, reply) => {
    const layer = requireLayer(deps);
    const b = req.body as Body;
    checkEvents(b.events);
    await checkTarget(deps, b.url);
    const w = written(await layer.store.createWebhook({
      url: b.url, events: b.events, secret: b.secret ?? generateSecret(), agent_id: b.agent_id ?? null, format: b.format ?? 'ascend',
      created_by: principalOf(req).name, created_at: deps.now(),
    }), '', b.url);
    await layer.webhooks.refresh();
    deps.logger.info({ webhook_id: w.webhook_id, events: w.events, format: w.format, api_key: w.created_by }, 'webhook subscription made');
    return reply.code(201).send(storedView(w, true));
  });

  api.put('/webhooks/:webhook_id', {
    config, schema: { tags, summary: 'Change the url, events, secret or format of a subscription made through the API', params: WebhookParams, body: WebhookChangeBody, response: { 200: WebhookView, ...errors({ body: true, store: true, codes: ['not_found', 'target_refused', 'webhook_exists', 'read_only'] }) } },
  }, async (req) => {
    const layer = requireLayer(deps);
    const { webhook_id } = req.params as { webhook_id: string };
    const change = req.body as WebhookChange;
    assertStored(deps, webhook_id);
    if (change.events) checkEvents(change.events);
    if (change.url !== undefined) await checkTarget(deps, change.url);
    const w = written(await layer.store.updateWebhook(webhook_id, change, deps.now()), webhook_id, change.url);
    await layer.webhooks.refresh();
    deps.logger.info({ webhook_id, changed: Object.keys(change), api_key: principalOf(req).name }, 'webhook subscription changed');
    return storedView(w);
  });

  api.delete('/webhooks/:webhook_id', {
    config, schema: { tags, summary: 'Remove a subscription made through the API', params: WebhookParams, response: { 200: WebhookDeleted, ...errors({ store: true, codes: ['not_found', 'read_only'] }) } },
  }, async (req) => {
    const layer = requireLayer(deps);
    const { webhook_id } = req.params as { webhook_id: string };
    assertStored(deps, webhook_id);
    if (!(await layer.store.deleteWebhook(webhook_id))) throw notFound('webhook', webhook_id);
    await layer.webhooks.refresh();
    deps.logger.info({ webhook_id, api_key: principalOf(req).name }, 'webhook subscription removed');
    return { deleted: true, webhook_id };
  });
}

function testRoute(api: FastifyInstance, deps: ApiDeps): void {
  api.post('/webhooks/:webhook_id/test', {
    config,
    schema: { tags, summary: `Deliver a signed ${TEST_EVENT} event now and report the receiver's answer`, params: WebhookParams, response: { 200: WebhookTestView, ...errors({ store: true, codes: ['not_found'] }) } },
  }, async (req) => {
    const layer = requireLayer(deps);
    const { webhook_id } = req.params as { webhook_id: string };
    const sub = await subscriptionFor(deps, webhook_id);
    const event = layer.events.envelope(TEST_EVENT, { webhook_id, message: 'a test event from ascend-sidecar', requested_by: principalOf(req).name });
    const started = performance.now();
    const outcome = await layer.delivery.send(sub, event.id, event.payload);
    return {
      success: outcome.error === undefined, status_code: outcome.status ?? null,
      response_time_ms: Math.round(performance.now() - started), error: outcome.error ?? null, event_id: event.id,
    };
  });
}

export function webhookRoutes(api: FastifyInstance, deps: ApiDeps): void {
  manageRoutes(api, deps);
  testRoute(api, deps);
}
