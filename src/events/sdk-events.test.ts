import { describe, expect, it } from 'vitest';
import { eventTypesFor, SUBSCRIBABLE_EVENTS } from './sdk-events.js';

describe('eventTypesFor', () => {
  it("maps the SDK's five names onto the sidecar's events", () => {
    expect(eventTypesFor(['action.approved', 'action.denied', 'action.pending', 'policy.violation', 'agent.trust_changed'])).toEqual({
      types: ['action.approved', 'action.denied', 'action.pending', 'alert.triggered', 'policy.reloaded', 'agent.blocked', 'agent.unblocked'],
    });
  });

  it("takes the sidecar's own names and * as they are, once each", () => {
    expect(eventTypesFor(['action.completed', 'alert.triggered', 'policy.violation', '*'])).toEqual({ types: ['action.completed', 'alert.triggered', '*'] });
  });

  it('names the first unknown event and its index', () => {
    expect(eventTypesFor(['action.pending', 'action.exploded', 'nope'])).toEqual({ unknown: 'action.exploded', index: 1 });
    expect(eventTypesFor(['toString'])).toEqual({ unknown: 'toString', index: 0 });
  });

  it('lists every accepted name once', () => {
    expect(SUBSCRIBABLE_EVENTS).toEqual([
      'action.pending', 'action.approved', 'action.denied', 'policy.violation', 'agent.trust_changed',
      'action.completed', 'alert.triggered', 'policy.reloaded', 'agent.blocked', 'agent.unblocked', '*',
    ]);
  });
});
