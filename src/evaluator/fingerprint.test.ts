import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import type { EvalInput } from '../core/action.js';
import { evalInput } from '../../test/helpers/eval-input.js';
import { createFingerprinter } from './fingerprint.js';

describe('fingerprint with a parametersKey (MCP arguments by position and body text)', () => {
  const fp = createFingerprinter(1, []);
  const body = '[{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"q","arguments":{"a":1}}}]';
  const mcp = (parametersKey: string | undefined, parameters: Record<string, unknown> = { a: 1 }) => ({ ...evalInput({ parameters }), parametersKey });

  it('stands for the parameters: equal keys for equal position and text, different otherwise', () => {
    expect(fp(mcp(`0:${body}`))).toBe(fp(mcp(`0:${body}`)));
    expect(fp(mcp(`0:${body}`))).not.toBe(fp(mcp(`1:${body}`)));
    expect(fp(mcp(`0:${body}`))).not.toBe(fp(mcp(`0:${body} `)));
    // Never the key of an input that carries the same parameters as an object.
    expect(fp(mcp(`0:${body}`))).not.toBe(fp(mcp(undefined)));
  });

  it('a suffix appended after the key (A/B variants) cannot make two keys equal', () => {
    const a = fp(mcp('0:x')) + '|t=control';
    const b = fp(mcp('0:x|t=control'));
    expect(a).not.toBe(b);
  });
});

describe('fingerprint digest (the bytes path)', () => {
  // Reads context and request values of every kind, as a policy's conditions would.
  const reads = ['context.environment', 'context.tags', 'context.n', 'request.method', 'request.headers.x-tenant', 'body.x'];
  const sha = (s: string) => createHash('sha256').update(s, 'utf8').digest('binary');
  const text = fc.oneof(
    fc.string({ maxLength: 12 }),
    fc.constantFrom('', 'billing-agent', 'refund/r-1', 'a"b', 'a\\b', '\u0000', '\u001f', '\u007f', 'é', '\u{1F600}', '\ud800', 'x\udc00'),
  );
  const scalar = fc.oneof(text, fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.constant(undefined), fc.constantFrom(0, -0, 1e21, 1.5e-7, NaN, Infinity));
  const value = fc.oneof(scalar, fc.array(scalar, { maxLength: 3 }), fc.dictionary(text, scalar, { maxKeys: 3 }));
  const params = fc.oneof(
    fc.dictionary(fc.oneof(text, fc.constantFrom('0', '1', '10', '__proto__', 'toJSON', 'amount')), scalar, { maxKeys: 5 }),
    fc.dictionary(text, value, { maxKeys: 3 }),
    fc.constant(Object.assign(Object.create(null) as object, { b: '1', a: '2' })),
    fc.constant({ toJSON: () => 'x' }),
    fc.constant(new Date(0)),
  );
  const input = fc.record({
    agent: fc.oneof(text, fc.constant(null)), type: text, resource: text, params,
    env: value, tags: value, n: value, method: fc.constantFrom('GET', 'POST', 'DELETE'), tenant: fc.oneof(text, fc.constant(undefined)),
    suffix: fc.constantFrom('', '|t=control', '|a=test|b.c-d_e=control'), pk: fc.oneof(fc.constant(undefined), text),
  });
  type X = typeof input extends fc.Arbitrary<infer T> ? T : never;
  const build = (x: X): EvalInput => {
    const i = evalInput(
      { agent_id: x.agent, action_type: x.type, resource: x.resource, parameters: x.params as Record<string, unknown>, context: { environment: x.env, tags: x.tags, n: x.n } },
      {},
      { method: x.method, headers: x.tenant === undefined ? {} : { 'x-tenant': x.tenant } },
    );
    return x.pk === undefined ? i : { ...i, parametersKey: x.pk };
  };

  it('is the SHA-256 of the key text and the suffix, for any input', () => {
    fc.assert(fc.property(input, (x) => {
      const fp = createFingerprinter(3, reads);
      const i = build(x);
      const want = sha(fp(i) + x.suffix);
      expect(fp.digest(i, x.suffix)).toBe(want);
      // Again (the remembered last key), and after another input's.
      expect(fp.digest(i, x.suffix)).toBe(want);
      fp.digest(evalInput(), '');
      expect(fp.digest(i, x.suffix)).toBe(want);
    }), { numRuns: 1500 });
  });

  it('tells apart inputs whose key texts differ, pairwise', () => {
    fc.assert(fc.property(input, input, (x, y) => {
      const fp = createFingerprinter(3, reads);
      const a = build(x);
      const b = build(y);
      const same = fp(a) + x.suffix === fp(b) + y.suffix;
      expect(fp.digest(a, x.suffix) === fp.digest(b, y.suffix)).toBe(same);
    }), { numRuns: 1000 });
  });

  it('builds no key text for an input of plain values (the path a gateway check takes)', () => {
    const fp = createFingerprinter(1, reads);
    const i = evalInput({ parameters: { amount: '50', n: 3, ok: true, none: null }, context: { environment: 'production', tags: 'a', n: 1.5 } }, {}, { headers: { 'x-tenant': 't' } });
    const want = sha(fp(i));
    const spy = vi.spyOn(JSON, 'stringify');
    try {
      expect([fp.digest(i, ''), spy.mock.calls.length]).toEqual([want, 0]);
      fp.digest(evalInput({ parameters: { nested: { a: 1 } } }), '');
      expect(spy.mock.calls.length).toBeGreaterThan(0);
    } finally {
      spy.mockRestore();
    }
  });

  it('differs with the version, a value one character apart, and a key longer than its first buffer', () => {
    const i = evalInput({ parameters: { amount: '50' }, context: { environment: 'production' } });
    const j = evalInput({ parameters: { amount: '500' }, context: { environment: 'production' } });
    const long = evalInput({ resource: 'r'.repeat(5000), parameters: { [`k${'x'.repeat(300)}`]: 'v'.repeat(700) } });
    const fp1 = createFingerprinter(1, reads);
    const fp2 = createFingerprinter(2, reads);
    expect(fp1.digest(i, '')).not.toBe(fp2.digest(i, ''));
    expect(fp1.digest(i, '')).not.toBe(fp1.digest(j, ''));
    expect(fp1.digest(long, '')).toBe(sha(fp1(long)));
    expect(fp1.digest(i, '')).toBe(sha(fp1(i)));
  });
});
