import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CanonicalJsonError, pythonCanonicalJson, pythonString } from './canonical-json.js';

interface Case { name: string; raw: string; pretty: string; unescaped: string; canonical: string; signature: string }
const fixture = JSON.parse(readFileSync(new URL('../../test/fixtures/sdk/canonical-json.json', import.meta.url), 'utf8')) as {
  secret: string; timestamp: string; cases: Case[];
};

describe('pythonCanonicalJson (fixtures from Python json.dumps(sort_keys=True))', () => {
  it.each(fixture.cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    expect(pythonCanonicalJson(c.raw)).toBe(c.canonical);
    expect(pythonCanonicalJson(c.pretty)).toBe(c.canonical); // whitespace is not signed
    expect(pythonCanonicalJson(c.unescaped)).toBe(c.canonical); // nor how a string was escaped
    const mac = createHmac('sha256', fixture.secret).update(`${fixture.timestamp}.${pythonCanonicalJson(c.raw)}`).digest('hex');
    expect(`v1=${mac}`).toBe(c.signature);
  });

  it('keeps number lexemes that JSON.parse would change', () => {
    expect(pythonCanonicalJson('{"b": 1.0, "a": 1E400}')).toBe('{"a": 1E400, "b": 1.0}');
  });

  it.each([
    ['{"a": 1, "a": 2}', 'duplicate key "a"'],
    ['{"a": 1', 'expected "," or "}"'],
    ['{"a" 1}', 'expected ":"'],
    ['[1, 2] x', 'text after the JSON value'],
    ['{"a": tru}', 'expected a JSON value'],
    ['"abc', 'unterminated string'],
  ])('refuses %s', (text, why) => {
    expect(() => pythonCanonicalJson(text)).toThrow(CanonicalJsonError);
    expect(() => pythonCanonicalJson(text)).toThrow(why);
  });

  it('escapes strings as Python ensure_ascii does', () => {
    expect(pythonString('a"\\/\u0000\u001f\u007f\u0080é\u{1F600}')).toBe('"a\\"\\\\/\\u0000\\u001f\\u007f\\u0080\\u00e9\\ud83d\\ude00"');
  });
});
