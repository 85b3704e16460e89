/**
 * docs/gateways.md shows the deploy snippets verbatim and the config defaults: hold both to
 * the files and the schema, so the docs cannot drift from what the tests run.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { runtimeFromText } from '../src/config/runtime.js';

const read = (p: string) => readFileSync(new URL(`../${p}`, import.meta.url), 'utf8');
const DOC = read('docs/gateways.md');

/** The fenced code blocks of a markdown text, by language. */
function blocks(md: string, lang: string): string[] {
  const out: string[] = [];
  const re = new RegExp('```' + lang + '\\n([\\s\\S]*?)\\n```', 'g');
  for (const m of md.matchAll(re)) out.push(m[1] as string);
  return out;
}

describe('docs/gateways.md', () => {
  it.each(['deploy/nginx/ascend-auth-endpoint.conf', 'deploy/nginx/ascend-protect.conf'])('shows %s verbatim', (file) => {
    expect(blocks(DOC, 'nginx')).toContain(read(file).trimEnd());
  });

  it('shows deploy/traefik/dynamic.yml verbatim', () => {
    expect(blocks(DOC, 'yaml')).toContain(read('deploy/traefik/dynamic.yml').trimEnd());
  });

  it('its configuration block is the schema defaults, and loads', () => {
    const block = blocks(DOC, 'yaml').find((b) => b.startsWith('kong:'))!;
    const shown = parse(block) as Record<string, any>;
    const defaults = runtimeFromText('{}', 'defaults', 1).config;
    expect(shown.kong).toEqual(defaults.kong);
    expect(shown.forward_auth).toEqual(defaults.forward_auth);
    expect(shown.gateway_access).toEqual(defaults.gateway_access);
    const rt = runtimeFromText(block, 'docs', 1);
    expect(rt.config.identity.sources).toEqual([{ consumer: { field: 'username' } }]);
  });

  it('the README links it', () => {
    expect(read('README.md')).toContain('(docs/gateways.md)');
  });
});
