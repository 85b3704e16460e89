/**
 * Event names a subscription made through the API may ask for. The ASCEND SDK checks
 * `configure_webhook` events against its own five names before sending; the sidecar maps them
 * onto its event types (docs/webhooks.md, "Event names from the SDK"). Its own names and `*`
 * are accepted too. Deliveries carry the sidecar's name in `event`.
 */
import { EVENT_TYPES, type EventType } from './types.js';

export const SDK_EVENT_NAMES: Readonly<Record<string, readonly EventType[]>> = {
  'action.pending': ['action.pending'],
  'action.approved': ['action.approved'],
  'action.denied': ['action.denied'],
  // The sidecar sends no event per policy denial (those are in the audit trail); its alerts
  // (risk over a threshold, repeated denials) are the violations worth a notification.
  'policy.violation': ['alert.triggered'],
  // An agent's trust changes when the config (its type, capabilities, the risk model) reloads,
  // and when the kill switch blocks or lifts it.
  'agent.trust_changed': ['policy.reloaded', 'agent.blocked', 'agent.unblocked'],
};

/** Every accepted name, for error messages and the OpenAPI description. */
export const SUBSCRIBABLE_EVENTS: readonly string[] = [...new Set([...Object.keys(SDK_EVENT_NAMES), ...EVENT_TYPES, '*'])];

/** The sidecar event types `names` subscribe to, or the first unknown name. */
export function eventTypesFor(names: readonly string[]): { types: (EventType | '*')[] } | { unknown: string; index: number } {
  const types = new Set<EventType | '*'>();
  for (const [index, name] of names.entries()) {
    if (Object.hasOwn(SDK_EVENT_NAMES, name)) for (const t of SDK_EVENT_NAMES[name]!) types.add(t);
    else if (name === '*' || (EVENT_TYPES as readonly string[]).includes(name)) types.add(name as EventType | '*');
    else return { unknown: name, index };
  }
  return { types: [...types] };
}
