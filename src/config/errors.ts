/** One problem in a config file, with the dotted path of the field (`policies[1].action`). */
export interface ConfigIssue {
  path: string;
  message: string;
  line?: number;
  col?: number;
  /** The path as segments, used to find the line in the YAML document. */
  segments?: (string | number)[];
}

/** A config that cannot be used; `issues` names every bad field found, not only the first. */
export class ConfigError extends Error {
  constructor(
    readonly source: string,
    readonly issues: readonly ConfigIssue[],
  ) {
    super(`${source}: invalid config:\n${issues.map((i) => `  ${formatIssue(i)}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export function formatIssue(i: ConfigIssue): string {
  const where = i.line === undefined ? '' : `line ${i.line}${i.col === undefined ? '' : `:${i.col}`}: `;
  return `${where}${i.path === '' ? '(root)' : i.path}: ${i.message}`;
}

/** `['policies', 1, 'action']` → `policies[1].action` */
export function formatPath(segments: readonly (string | number)[]): string {
  let out = '';
  for (const s of segments) {
    if (typeof s === 'number') out += `[${s}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(s)) out += out === '' ? s : `.${s}`;
    else out += `[${JSON.stringify(s)}]`;
  }
  return out;
}

/** Collects issues while compiling, so one load reports every problem at once. */
export class IssueList {
  readonly items: ConfigIssue[] = [];
  add(path: readonly (string | number)[], message: string): void {
    this.items.push({ path: formatPath(path), message, segments: [...path] });
  }
}
