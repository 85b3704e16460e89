/** The brief as Markdown (tables; agent text with `|` and newlines escaped so a cell stays a cell). */
import type { Brief } from './brief.js';
import { briefTables, type Table } from './tables.js';

const cell = (v: unknown): string => String(v ?? '—').replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/[\r\n]+/g, ' ').replace(/</g, '&lt;');
const table = ({ head, rows }: Table): string =>
  [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`)].join('\n');

export function briefMarkdown(b: Brief): string {
  const t = briefTables(b);
  const orNone = (x: Table): string => (x.rows.length === 0 ? 'None.' : table(x));
  return `# Executive brief: ${b.since.slice(0, 10)} to ${b.until.slice(0, 10)}

## Posture

${table(t.posture)}
${b.posture.truncated ? '\n_The period holds more audit rows than one brief reads: the oldest were left out._\n' : ''}
## Risk trend (per day, UTC)

${table(t.riskTrend)}

## Agents

${table(t.agents)}

## Top policies

${table(t.policies)}

## Monitor mode: what enforcement would have stopped

${orNone(t.monitor)}

## Approvals

${table(t.approvals)}

## Kill-switch events

${orNone(t.killSwitch)}
`;
}
