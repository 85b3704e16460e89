/**
 * What a chat or ticket notification says about an event, read from the envelope's data: one
 * line of title, the facts (agent, action, resource, risk, policy, …) and the console's page for
 * the action (under `api.public_url`). Every value is the agent's own text; each format escapes
 * it for its own markup.
 */
import type { WebhookEnvelope } from '../types.js';

export interface NotificationFacts {
  readonly title: string;
  readonly summary: string;
  readonly facts: readonly (readonly [string, string])[];
  /** The console's page for this action, when `api.public_url` is set and the event has one. */
  readonly link: string | undefined;
  readonly riskScore: number | null;
}

const TITLES: Readonly<Record<string, string>> = {
  'action.pending': 'Approval needed',
  'action.approved': 'Action approved',
  'action.denied': 'Action denied',
  'action.completed': 'Action completed',
  'alert.triggered': 'Alert',
  'policy.reloaded': 'Policy reloaded',
  'agent.blocked': 'Agent blocked (kill switch)',
  'agent.unblocked': 'Agent unblocked',
  'webhook.test': 'Test notification',
};

const text = (v: unknown): string | undefined => (v === null || v === undefined || v === '' ? undefined : typeof v === 'string' ? v : JSON.stringify(v));

/** `<public_url>/console#/actions/<id>` (the console's action page), or undefined. */
export function consoleLink(publicUrl: string | undefined, actionId: unknown): string | undefined {
  if (!publicUrl || typeof actionId !== 'string' || actionId === '') return undefined;
  return `${publicUrl.replace(/\/+$/, '')}/console#/actions/${encodeURIComponent(actionId)}`;
}

export function factsOf(e: WebhookEnvelope, publicUrl: string | undefined): NotificationFacts {
  const d = e.data;
  const title = TITLES[e.event] ?? e.event;
  const action = [text(d.action_type), text(d.resource)].filter(Boolean).join(' on ');
  const rows: [string, string | undefined][] = [
    ['Agent', text(d.agent_id)],
    ['Action', text(d.action_type)],
    ['Resource', text(d.resource)],
    ['Risk', typeof d.risk_score === 'number' ? String(d.risk_score) : undefined],
    ['Policy', text(d.policy_id)],
    ['Status', text(d.status)],
    ['Approvers', Array.isArray(d.approvers) && d.approvers.length > 0 ? d.approvers.join(', ') : undefined],
    ['Deadline', text(d.deadline_at)],
    ['Reason', text(d.reason)],
  ];
  return {
    title,
    summary: action ? `${title}: ${action}${text(d.agent_id) ? ` by ${text(d.agent_id)}` : ''}` : title,
    facts: rows.filter((r): r is [string, string] => r[1] !== undefined),
    link: consoleLink(publicUrl, d.action_id),
    riskScore: typeof d.risk_score === 'number' ? d.risk_score : null,
  };
}
