import { describe, expect, it } from 'vitest';
import { nullObject } from './null-object.js';

describe('nullObject', () => {
  it('has no inherited keys, so request-controlled names stay plain data', () => {
    const o = nullObject<string>();
    for (const k of ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf']) expect(o[k]).toBeUndefined();
    const [proto, ctor] = ['__proto__', 'constructor'];
    o[proto] = 'x';
    o[ctor] = 'y';
    expect(Object.keys(o)).toEqual(['__proto__', 'constructor']);
    expect(JSON.parse(JSON.stringify(o))).toEqual(JSON.parse('{"__proto__":"x","constructor":"y"}'));
    expect('toString' in o).toBe(false);
  });
});
