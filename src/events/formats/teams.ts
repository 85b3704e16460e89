/**
 * Microsoft Teams: an Adaptive Card (https://adaptivecards.io, schema 1.4) in the message shape
 * Teams incoming webhooks and Workflows take: `{type: "message", attachments: [{contentType:
 * "application/vnd.microsoft.card.adaptive", content: card}]}`. TextBlocks render a Markdown
 * subset, so values go in FactSet facts and plain TextBlocks with Markdown characters escaped.
 */
import type { NotificationFacts } from './facts.js';

/** Backslash-escapes the characters Adaptive Cards' Markdown subset reads. */
export const teamsEscape = (s: string): string => s.replace(/([\\`*_{}[\]()#+\-.!<>|~])/g, '\\$1');

export function teamsMessage(f: NotificationFacts, eventId: string): Record<string, unknown> {
  const card: Record<string, unknown> = {
    $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
    type: 'AdaptiveCard',
    version: '1.4',
    body: [
      { type: 'TextBlock', text: teamsEscape(f.summary), weight: 'Bolder', size: 'Medium', wrap: true,
        ...(f.riskScore !== null && f.riskScore >= 70 ? { color: 'Attention' } : {}) },
      { type: 'FactSet', facts: f.facts.map(([title, value]) => ({ title, value: teamsEscape(value) })) },
      { type: 'TextBlock', text: teamsEscape(`ascend-sidecar · event ${eventId}`), isSubtle: true, size: 'Small', wrap: true },
    ],
    ...(f.link ? { actions: [{ type: 'Action.OpenUrl', title: 'Open in the console', url: f.link }] } : {}),
  };
  return { type: 'message', attachments: [{ contentType: 'application/vnd.microsoft.card.adaptive', contentUrl: null, content: card }] };
}
