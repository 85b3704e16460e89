/**
 * `suggest`: policy suggestions (smart rules, policy/suggest.ts) from a decision log (JSON lines)
 * or the store's audit trail, printed as YAML. Never written into a config: a human copies
 * what they want.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { stringify } from 'yaml';
import type { Runtime } from '../config/runtime.js';
import { suggest, type Observation, type Suggestion } from '../policy/suggest.js';
import { UsageError, type Command } from './command.js';
import { loadConfig } from './validate-command.js';
import { auditObservations } from './suggest-store.js';
import { parseSince } from '../policy/suggest-audit.js';

const DECISIONS = new Set(['allowed', 'denied', 'pending']);

/** Decision-log lines → observations; other lines (logger output, partial lines) are skipped. */
export function observationsFromLog(text: string): { obs: Observation[]; skipped: number } {
  const obs: Observation[] = [];
  let skipped = 0;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    let j: Record<string, unknown>;
    try {
      j = JSON.parse(line) as Record<string, unknown>;
    } catch {
      skipped++;
      continue;
    }
    if (j.kind !== 'decision' || typeof j.action_type !== 'string' || !DECISIONS.has(j.decision as string) || typeof j.time !== 'number') {
      skipped++;
      continue;
    }
    obs.push({
      ts: j.time, agent_id: typeof j.agent_id === 'string' ? j.agent_id : null, action_type: j.action_type,
      decision: j.decision as Observation['decision'], code: String(j.code ?? ''), policy_id: typeof j.policy_id === 'string' ? j.policy_id : null,
      risk_score: typeof j.risk_score === 'number' ? j.risk_score : 0,
    });
  }
  return { obs, skipped };
}

export function suggestionsYaml(list: readonly Suggestion[], source: string): string {
  const head = `# ascend-sidecar suggest: ${list.length} suggestion${list.length === 1 ? '' : 's'} from ${source}.\n# Nothing here is applied: copy a suggested_policy into your config's policies to use it.\n`;
  return head + stringify({ suggestions: list }, { lineWidth: 0 });
}

export const suggestCommand: Command = {
  name: 'suggest',
  summary: 'suggest policies from the decision log or the audit trail (smart rules), as YAML',
  usage: '--from DECISIONS.jsonl [--config FILE] | --config FILE --store [--since 7d]  [--out FILE] [--min-count N]',
  help: `Patterns: actions denied again and again by the default, actions humans always approved
(candidates for allow), allow policies that decided nothing, agents whose volume or risk jumped
(z-score over their own days). Each suggestion: action_type, suggested_policy, evidence {count,
since, until}. Exit 0 also when there is nothing to suggest. Never writes a config.`,
  options: {
    from: { type: 'string' },
    config: { type: 'string', short: 'c' },
    store: { type: 'boolean' },
    since: { type: 'string' },
    out: { type: 'string', short: 'o' },
    'min-count': { type: 'string' },
  },
  async run(v) {
    const from = v.from as string | undefined;
    if ((from === undefined) === (v.store !== true)) throw new UsageError('give exactly one of --from FILE and --store', suggestCommand);
    const minCount = v['min-count'] === undefined ? undefined : Number(v['min-count']);
    if (minCount !== undefined && (!Number.isInteger(minCount) || minCount < 1)) throw new UsageError('--min-count must be a positive integer', suggestCommand);
    const sinceMs = parseSince((v.since as string | undefined) ?? '7d');
    if (sinceMs === undefined) throw new UsageError(`--since must look like 7d, 12h or 30m, got "${v.since}"`, suggestCommand);
    let rt: Runtime | undefined;
    if (typeof v.config === 'string') {
      const loaded = loadConfig(v.config);
      if (typeof loaded === 'number') return loaded;
      rt = loaded;
    }
    let obs: Observation[];
    let source: string;
    if (from !== undefined) {
      let text: string;
      try {
        text = readFileSync(from, 'utf8');
      } catch (e) {
        process.stderr.write(`suggest: cannot read ${from}: ${(e as Error).message}\n`);
        return 2;
      }
      const r = observationsFromLog(text);
      obs = r.obs;
      source = `${from} (${obs.length} decisions${r.skipped ? `, ${r.skipped} other lines skipped` : ''})`;
    } else {
      if (rt === undefined) throw new UsageError('--store needs --config FILE (the store: section)', suggestCommand);
      if (!rt.config.store) {
        process.stderr.write(`suggest: ${v.config} has no store: section\n`);
        return 1;
      }
      obs = await auditObservations(rt, Date.now() - sinceMs);
      source = `the audit trail since ${new Date(Date.now() - sinceMs).toISOString()} (${obs.length} decisions)`;
    }
    const list = suggest(obs, { policies: rt?.config.policies, minCount });
    const yaml = suggestionsYaml(list, source);
    if (typeof v.out === 'string') writeFileSync(v.out, yaml);
    else process.stdout.write(yaml);
    return 0;
  },
};
