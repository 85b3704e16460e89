import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import AjvModule from 'ajv';
import { gatewayRegExp, singleLine } from './http-adapter.js';
import { OpaRequestSchema } from './kong-opa/schema.js';
import { PluginRequestSchema } from './kong/schema.js';

describe('the map-key pattern as a loop (ajv code.regExp)', () => {
  const u = new RegExp('^(.*)$', 'u');
  const plain = new RegExp('^(.*)$');

  it('answers as the regular expression, with and without u, for every UTF-16 code unit alone and inside a key', () => {
    for (let c = 0; c <= 0xffff; c++) {
      const ch = String.fromCharCode(c);
      for (const key of [ch, `x-${ch}`, `${ch}a`, `a${ch}b`]) {
        const want = u.test(key);
        expect(plain.test(key)).toBe(want);
        if (singleLine(key) !== want) throw new Error(`U+${c.toString(16)} in ${JSON.stringify(key)}: ${!want} where the pattern says ${want}`);
      }
    }
    expect(singleLine('')).toBe(true);
  });

  it('answers as the regular expression for any string, surrogate pairs and lone halves included', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 24 }), (s) => singleLine(s) === u.test(s)), { numRuns: 5000 });
    fc.assert(fc.property(fc.string({ unit: fc.constantFrom('a', '\n', '\r', '\u2028', '\u2029', '\ud800', '\udc00', '\u0085'), maxLength: 12 }), (s) => singleLine(s) === u.test(s)), { numRuns: 5000 });
  });

  it('leaves every other pattern to RegExp', () => {
    const rx = gatewayRegExp('^[a-z]+$', 'u');
    expect(rx).toBeInstanceOf(RegExp);
    expect([rx.test('abc'), rx.test('aBc')]).toEqual([true, false]);
    expect(String(gatewayRegExp('^(.*)$', 'u'))).toBe('/^(.*)$/u');
  });
});

describe('validators compiled with it', () => {
  const Ajv = AjvModule.default ?? AjvModule;
  const opts = { allErrors: false, coerceTypes: false, useDefaults: false, removeAdditional: false, strict: false } as const;
  const ours = new Ajv({ ...opts, code: { regExp: gatewayRegExp } });
  const theirs = new Ajv(opts);
  const key = fc.oneof(fc.string({ maxLength: 6 }), fc.constantFrom('x-a\nb', 'x-a\rb', 'a\u2028', '\u2029', 'x-\u0085', 'host'));
  const value = fc.oneof(fc.string({ maxLength: 4 }), fc.integer(), fc.array(fc.string({ maxLength: 3 }), { maxLength: 2 }), fc.boolean(), fc.constant(null));

  it('take and refuse the same Kong opa inputs as ajv\'s own RegExp engine', () => {
    const a = ours.compile(OpaRequestSchema);
    const b = theirs.compile(OpaRequestSchema);
    const body = fc.record({ headers: fc.dictionary(key, value, { maxKeys: 4 }), querystring: fc.dictionary(key, value, { maxKeys: 3 }) })
      .map(({ headers, querystring }) => ({ input: { request: { http: { method: 'GET', path: '/x', headers, querystring } } } }));
    fc.assert(fc.property(body, (x) => a(x) === b(x)), { numRuns: 3000 });
    // A key with a line break is outside the pattern, so its value is not held to the map's type (as before).
    expect([a({ input: { request: { http: { method: 'GET', path: '/x', headers: { 'x-a\nb': 5 } } } } }), a({ input: { request: { http: { method: 'GET', path: '/x', headers: { 'x-a': 5 } } } } })]).toEqual([true, false]);
  });

  it('take and refuse the same Kong plugin requests', () => {
    const a = ours.compile(PluginRequestSchema);
    const b = theirs.compile(PluginRequestSchema);
    const body = fc.dictionary(key, value, { maxKeys: 4 }).map((headers) => ({ request: { method: 'GET', host: 'h', path: '/x', headers } }));
    fc.assert(fc.property(body, (x) => a(x) === b(x)), { numRuns: 2000 });
  });
});
