import { describe, expect, it } from 'vitest';
import { RequestError } from '../core/errors.js';
import { digBody, parseBody, readBody, type BodySource } from './body.js';

const LIMITS = { maxBytes: 64, maxDepth: 3 };
const src = (body: string | undefined, type?: string, more: Partial<BodySource> = {}): BodySource => ({
  body, bodyPartial: false, bodyIsJson: false, headers: type === undefined ? {} : { 'content-type': type }, ...more,
});
const code = (f: () => unknown): string | undefined => {
  try {
    f();
  } catch (e) {
    return e instanceof RequestError ? e.code : 'other';
  }
  return undefined;
};

describe('parseBody', () => {
  it('JSON by type, by its look without a type, and form data', () => {
    expect(parseBody(src('{"a":1}', 'application/json; charset=utf-8'), LIMITS)).toEqual({ partial: false, format: 'json', value: { a: 1 } });
    expect(parseBody(src('[1]', 'application/vnd.api+json'), LIMITS)).toMatchObject({ value: [1] });
    expect(parseBody(src(' {"a":1}'), LIMITS)).toMatchObject({ format: 'json' });
    const form = parseBody(src('a=1&a=2&b=x+y&__proto__=p', 'application/x-www-form-urlencoded'), LIMITS);
    expect(form).toMatchObject({ format: 'form', value: { a: ['1', '2'], b: 'x y', __proto__: 'p' } });
    expect(parseBody(src(''), LIMITS)).toBeUndefined();
    expect(parseBody(src(undefined), LIMITS)).toBeUndefined();
  });

  it('invalid_body: bad JSON, other types, too large (in UTF-8 bytes), too deep', () => {
    expect(code(() => parseBody(src('{"a":', 'application/json'), LIMITS))).toBe('invalid_body');
    expect(code(() => parseBody(src('a=1', 'text/plain'), LIMITS))).toBe('invalid_body');
    expect(code(() => parseBody(src('a=1'), LIMITS))).toBe('invalid_body');
    expect(code(() => parseBody(src(`"${'é'.repeat(40)}"`, 'application/json'), LIMITS))).toBe('invalid_body');
    expect(parseBody(src(`"${'e'.repeat(40)}"`, 'application/json'), LIMITS)).toMatchObject({ value: 'e'.repeat(40) });
    expect(code(() => parseBody(src('[[[[1]]]]', 'application/json'), LIMITS))).toBe('invalid_body');
    expect(parseBody(src('[[[1]]]', 'application/json'), LIMITS)).toMatchObject({ value: [[[1]]] });
  });

  it('json: true and bodyIsJson parse JSON whatever the type says', () => {
    expect(parseBody(src('{"a":1}', 'text/plain'), LIMITS, true)).toMatchObject({ value: { a: 1 } });
    expect(parseBody(src('{"a":1}', 'application/x-www-form-urlencoded', { bodyIsJson: true }), LIMITS)).toMatchObject({ value: { a: 1 } });
  });

  it('a partial body is never parsed, and reading it denies body_truncated', () => {
    const b = parseBody(src('{"a":1}', 'application/json', { bodyPartial: true }), LIMITS);
    expect(b).toEqual({ partial: true });
    expect(code(() => readBody(b))).toBe('body_truncated');
    expect(parseBody(src(undefined, undefined, { bodyPartial: true }), LIMITS)).toEqual({ partial: true });
    expect(readBody(undefined)).toBeUndefined();
  });
});

describe('digBody', () => {
  it('object members (own only) and array indexes', () => {
    const v = { a: { b: [{ c: 1 }, 'x'] } };
    expect(digBody(v, ['a', 'b', '0', 'c'])).toBe(1);
    expect(digBody(v, ['a', 'b', '1'])).toBe('x');
    expect(digBody(v, ['a', 'b', '01'])).toBeUndefined();
    expect(digBody(v, ['a', 'constructor'])).toBeUndefined();
    expect(digBody(v, ['a', 'b', 'length'])).toBeUndefined();
  });
});
