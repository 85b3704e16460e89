import secureJson from 'secure-json-parse';
import { describe, expect, it } from 'vitest';
import { parseJsonSafely } from './json-parse.js';

/** What fastify's parser (secure-json-parse, both actions 'error') answers: the value or 'refused'. */
function reference(text: string): unknown {
  try {
    return secureJson.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' });
  } catch {
    return 'refused';
  }
}

function ours(text: string): unknown {
  try {
    return parseJsonSafely(text);
  } catch {
    return 'refused';
  }
}

describe('parseJsonSafely', () => {
  it('answers as secure-json-parse does, poisoned keys in every spelling included', () => {
    const texts = [
      '{"a":1,"b":[true,null,"x"]}', '1', '"s"', 'null', '[]', '', '{', '{"a":1}x', '\ufeff{"a":1}',
      '{"__proto__":{"x":1}}', '{"a":{"__proto__" :1}}', '{"\\u005f_proto__":{"x":1}}', '{"__pr\\u006fto__":1}',
      '{"constructor":{"prototype":{"x":1}}}', '{"c\\u006fnstructor":{"prototype":1}}', '{"constructor":{"a":1}}',
      '{"constructor":1}', '{"s":"__proto__"}', '{"s":"constructor"}', '{"s":"\\u00e9"}', '{"__proto":1,"_proto__":2}',
      '\ufeff{"__proto__":1}',
    ];
    for (const t of texts) expect(ours(t), t).toEqual(reference(t));
  });

  it('never builds an object with a poisoned prototype', () => {
    expect(() => parseJsonSafely('{"__proto__":{"polluted":true}}')).toThrow();
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
