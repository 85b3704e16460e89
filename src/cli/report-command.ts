/**
 * `report`: the executive brief (report/brief.ts) from the config's store — posture, risk trend,
 * decisions and approvals per agent, top policies, monitor-mode would-denies, approvals' time to
 * decision, kill-switch events — as JSON, Markdown or one self-contained HTML file.
 */
import { writeFileSync } from 'node:fs';
import { parseSince } from '../policy/suggest-audit.js';
import { buildBrief, type Brief } from '../report/brief.js';
import { briefHtml } from '../report/html.js';
import { briefMarkdown } from '../report/markdown.js';
import { required, UsageError, type Command } from './command.js';
import { openStoreToRead } from './read-store.js';
import { loadConfig } from './validate-command.js';

const FORMATS = ['json', 'md', 'html'] as const;
type Format = (typeof FORMATS)[number];

export function renderBrief(b: Brief, format: Format): string {
  return format === 'json' ? `${JSON.stringify(b, null, 2)}\n` : format === 'md' ? briefMarkdown(b) : briefHtml(b);
}

export const reportCommand: Command = {
  name: 'report',
  summary: 'the executive brief from the store (posture, risk trend, agents, policies, approvals) as html, md or json',
  usage: '--config FILE [--since 7d] [--format html|md|json] [--out FILE]',
  help: `--since: 7d, 12h or 30m back from now (default 7d). --format: json (default), md, or html (one
self-contained file with inline SVG charts, no script, no network). Prints to stdout unless --out.
JSON top level: since, until, posture, agents, policies, approvals, risk_trend, kill_switch.`,
  options: {
    config: { type: 'string', short: 'c' },
    since: { type: 'string' },
    format: { type: 'string', short: 'f' },
    out: { type: 'string', short: 'o' },
  },
  async run(v) {
    const path = required(v, 'config', reportCommand);
    const sinceMs = parseSince((v.since as string | undefined) ?? '7d');
    if (sinceMs === undefined) throw new UsageError(`--since must look like 7d, 12h or 30m, got "${v.since}"`, reportCommand);
    const format = ((v.format as string | undefined) ?? 'json') as Format;
    if (!FORMATS.includes(format)) throw new UsageError(`--format must be one of ${FORMATS.join(', ')}, got "${format}"`, reportCommand);
    const rt = loadConfig(path);
    if (typeof rt === 'number') return rt;
    if (!rt.config.store) {
      process.stderr.write(`report: ${path} has no store: section (the brief is read from the store)\n`);
      return 1;
    }
    const store = await openStoreToRead(rt);
    let brief: Brief;
    try {
      const until = Date.now();
      brief = await buildBrief(store, { since: until - sinceMs, until, policyNames: new Map(rt.config.policies.map((p) => [p.id, p.name])) });
    } finally {
      await store.close();
    }
    const text = renderBrief(brief, format);
    if (typeof v.out === 'string') writeFileSync(v.out, text);
    else process.stdout.write(text);
    return 0;
  },
};
