/**
 * ServiceNow: an incident as the Table API creates one (`POST /api/now/table/incident`, JSON
 * fields of the incident table). Urgency and impact follow the risk score (1 high ≥ 70, 2 medium
 * ≥ 40, else 3 low); `correlation_id` is the event id, so a retried delivery can be matched to
 * the incident it already made. Plain text fields: ServiceNow does not render them as HTML.
 */
import type { NotificationFacts } from './facts.js';

const level = (risk: number | null): '1' | '2' | '3' => (risk === null ? '3' : risk >= 70 ? '1' : risk >= 40 ? '2' : '3');

export function serviceNowIncident(f: NotificationFacts, eventId: string, event: string): Record<string, unknown> {
  const lines = f.facts.map(([k, v]) => `${k}: ${v}`);
  if (f.link) lines.push(`Console: ${f.link}`);
  lines.push(`Event: ${event} (${eventId})`);
  return {
    short_description: f.summary.length > 160 ? `${f.summary.slice(0, 159)}…` : f.summary,
    description: lines.join('\n'),
    urgency: level(f.riskScore),
    impact: level(f.riskScore),
    category: 'security',
    contact_type: 'integration',
    correlation_id: eventId,
    correlation_display: 'ascend-sidecar',
  };
}
