import { describe, expect, it } from 'vitest';
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
