/**
 * What the webhook routes check and answer: event names, target urls (the SSRF guard, url
 * uniqueness across the config's and the API's subscriptions), the `cfg_…` ids of the config's
 * read-only subscriptions, and the view (secrets only in the answer that created them).
 */
import { createHash, randomBytes } from 'node:crypto';
import type { WebhookRecord } from '../approvals/store/records.js';
import { eventTypesFor, SUBSCRIBABLE_EVENTS } from '../events/sdk-events.js';
import { targetProblem } from '../events/target-guard.js';
import { maskUrl } from '../observability/redact.js';
import type { WebhookSubscription } from '../events/types.js';
import type { ApiDeps } from './context.js';
import { ApiError } from './errors.js';

const iso = (ms: number): string => new Date(ms).toISOString();

/** A config subscription's id: stable across reloads as long as its url is. */
export const configWebhookId = (url: string): string => `cfg_${createHash('sha256').update(url).digest('hex').slice(0, 12)}`;

/** A new random secret (256 bits), for subscriptions made without one. */
export const generateSecret = (): string => `whsec_${randomBytes(32).toString('base64url')}`;

/** 400 naming the first unknown event. */
export function checkEvents(events: readonly string[]): void {
  const r = eventTypesFor(events);
  if ('unknown' in r) {
    const field = `events[${r.index}]`;
    throw new ApiError(400, 'invalid_request', `body.${field}: unknown event "${r.unknown}"; one of ${SUBSCRIBABLE_EVENTS.join(', ')}`, field);
  }
}

/** The config subscription with this id, if it is one. */
export function configWebhook(deps: ApiDeps, webhookId: string): WebhookSubscription | undefined {
  return deps.state.runtime.webhooks.find((w) => configWebhookId(w.url) === webhookId);
}

/** 409 for a url the config already subscribes; 400 for a target the SSRF guard refuses. */
export async function checkTarget(deps: ApiDeps, url: string): Promise<void> {
  const config = deps.state.runtime.config;
  if (config.webhooks.some((w) => w.url === url)) {
    throw new ApiError(409, 'webhook_exists', `body.url: the config file already subscribes ${url}`, 'url');
  }
  if (config.api.allow_private_webhook_targets) {
    if (!/^https?:\/\/[^/]/i.test(url)) throw new ApiError(400, 'invalid_request', 'body.url: must be an http:// or https:// URL', 'url');
    return;
  }
  const problem = await targetProblem(url);
  if (problem) throw new ApiError(400, 'target_refused', `body.url: ${problem}`, 'url');
}

/**
 * A subscription made through the API. Its url is often a secret itself (Slack, Teams): like the
 * secret, it is shown whole only in the answer that created it, and masked (`scheme://host/…`)
 * ever after, to every role.
 */
export function storedView(w: WebhookRecord, created = false): Record<string, unknown> {
  return {
    webhook_id: w.webhook_id, id: w.webhook_id, url: created ? w.url : maskUrl(w.url), events: w.events, active: true, agent_id: w.agent_id,
    secret: created ? w.secret : null, source: 'api', format: w.format, created_at: iso(w.created_at), updated_at: iso(w.updated_at),
  };
}

export function configView(w: WebhookSubscription): Record<string, unknown> {
  const id = configWebhookId(w.url);
  return {
    webhook_id: id, id, url: maskUrl(w.url), events: w.events, active: true, agent_id: null, secret: null, source: 'config',
    format: w.format ?? 'ascend', created_at: null, updated_at: null,
  };
}
