import { describe, expect, it, vi } from 'vitest';
import type { Decision } from '../core/decision.js';
import type { ReplyLike } from '../http/fast-routes.js';
import type { CheckResult } from '../pipeline/result.js';
import { AnswerJson } from './answer-json.js';
import { uuidV4 } from '../shared/uuid.js';
import { toOpaResult } from './kong-opa/to-opa-result.js';
import { toPluginAnswer } from './kong/to-plugin-response.js';
import { checkResultOf, decisionOf } from '../../test/helpers/decisions.js';

const decision = (over: Partial<Decision>): Decision =>
  decisionOf({ reason: 'allowed by policy "Anyone reads orders"', policyId: 'pol_orders_read', policyName: 'Anyone reads orders', riskScore: 12, ...over });
const result = (d: Decision, actionId: string, over: Partial<CheckResult> = {}): CheckResult => checkResultOf(d, actionId, { adapter: 'kong', ...over });

const DECISIONS = [
  decision({}),
  decision({ decision: 'denied', reason: 'No agent touches "admin" \\ ever', code: 'policy_deny', policyId: 'pol_admin_deny', httpStatus: 403 }),
  decision({ flagged: true, monitor: { policyId: 'pol_x', wouldBe: 'denied' } }),
  // Its own text holds a stand-in id: answered in full every time, never from parts.
  decision({ reason: 'see 00000000-0000-4000-8000-00000000a5a5', policyId: null }),
];
const IDS = ['6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f', 'a-remote:id_1.2', 'odd "id"\n', ''];

describe('AnswerJson', () => {
  for (const [name, render] of [['Kong', toPluginAnswer], ['Kong opa', toOpaResult]] as const) {
    it(`${name}: the same text as JSON.stringify, first time, second and after`, () => {
      const answers = new AnswerJson(render);
      for (let round = 0; round < 4; round++) {
        for (const d of DECISIONS) {
          for (const id of IDS) {
            const r = result(d, id);
            expect(answers.of(r)).toBe(JSON.stringify(render(r)));
          }
          const pending = result(d, IDS[0]!, { approvalId: 'apr_1', statusUrl: 'https://x/status/apr_1', retryAfterSeconds: 5 });
          expect(answers.of(pending)).toBe(JSON.stringify(render(pending)));
          const ab = result(d, IDS[0]!, { ab: [{ test: { name: 't' }, variant: 'test' }] as unknown as CheckResult['ab'] });
          expect(answers.of(ab)).toBe(JSON.stringify(render(ab)));
        }
      }
    });
  }

  it('answers a Decision seen twice from its parts: no render, no serialize, the id joined in', () => {
    let calls = 0;
    const answers = new AnswerJson((r) => (calls++, toPluginAnswer(r)), (v) => (calls++, JSON.stringify(v)));
    const [allow, deny, , ownStandIn] = DECISIONS as [Decision, Decision, Decision, Decision];
    for (const d of [allow, deny]) {
      answers.of(result(d, 'first'));
      answers.of(result(d, 'second')); // builds the parts
      calls = 0;
      for (const id of ['6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f', 'a-remote:id_1.2']) {
        const r = result(d, id);
        expect(answers.of(r)).toBe(JSON.stringify(toPluginAnswer(r)));
      }
      expect(calls).toBe(0);
    }
    // Not from parts: an id JSON would escape, a check with more than the id, a decision whose
    // text holds a stand-in (seen twice already: its parts were tried and refused).
    answers.of(result(ownStandIn, 'first'));
    answers.of(result(ownStandIn, 'second'));
    for (const r of [result(allow, 'odd "id"\n'), result(allow, 'x', { approvalId: 'apr_1' }), result(ownStandIn, 'third')]) {
      calls = 0;
      expect(answers.of(r)).toBe(JSON.stringify(toPluginAnswer(r)));
      expect(calls).toBe(2);
    }
  });

  it('sends an answer with its UTF-8 length only when it is ASCII', () => {
    /** The content type and the arguments of send() on a reply. */
    const sent: unknown[] = [];
    const reply: ReplyLike = {
      code: () => reply,
      header: (name, value) => (sent.push([name, value]), reply),
      headers: () => reply,
      send: (payload, bytes) => void sent.push(payload, bytes),
    };
    for (const [name, render] of [['Kong', toPluginAnswer], ['Kong opa', toOpaResult]] as const) {
      const answers = new AnswerJson(render);
      for (const d of [DECISIONS[0]!, decision({ reason: 'café ✓ \u2028' }), DECISIONS[1]!]) {
        for (let i = 0; i < 4; i++) {
          sent.length = 0;
          const r = result(d, IDS[0]!);
          answers.send(reply, r);
          const text = JSON.stringify(render(r));
          const ascii = Buffer.byteLength(text) === text.length;
          // From parts (the third time on): the length exactly when ASCII; never one when not.
          const bytes = i >= 2 && ascii ? text.length : undefined;
          expect([name, i, sent]).toEqual([name, i, [['content-type', 'application/json'], text, bytes]]);
        }
      }
    }
  });

  it('tests no id the check drew itself (actionIdPlain), and every other id', () => {
    const answers = new AnswerJson(toPluginAnswer);
    const test = vi.spyOn(RegExp.prototype, 'test');
    try {
      for (const d of DECISIONS) {
        for (let i = 0; i < 3; i++) {
          for (const [id, plain] of [[uuidV4(), true], ...IDS.map((id) => [id, false] as const)] as const) {
            const r = result(d, id, { actionIdPlain: plain });
            test.mockClear();
            expect(answers.of(r)).toBe(JSON.stringify(toPluginAnswer(r)));
            if (i === 2 && d !== DECISIONS[3]) expect([id, test.mock.calls.length > 0]).toEqual([id, !plain]);
          }
        }
      }
    } finally {
      test.mockRestore();
    }
  });
});
