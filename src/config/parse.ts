/**
 * YAML text → validated {@link Config}: parse (with line numbers), fill defaults, validate
 * against the schema, then report every bad field with its path and line.
 */
import { Value } from '@sinclair/typebox/value';
import AjvModule, { type ErrorObject } from 'ajv';
import { LineCounter, parseDocument, type Document } from 'yaml';
import { ConfigError, formatPath, type ConfigIssue } from './errors.js';
import { WorkflowSchema } from '../approvals/config.js';
import { ConfigSchema, type Config } from './schema.js';

const Ajv = AjvModule.default ?? AjvModule;
const validate = new Ajv({ allErrors: true, strict: false }).compile<Config>(ConfigSchema);

function pointerToSegments(pointer: string): (string | number)[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^(0|[1-9][0-9]*)$/.test(s) ? Number(s) : s));
}

function describe(e: ErrorObject): { segments: (string | number)[]; message: string } {
  const segments = pointerToSegments(e.instancePath);
  const p = e.params as Record<string, unknown>;
  // A map's key its `keys` schema refused (config/map-of.ts): named, as a value is.
  if (e.propertyName !== undefined) return { segments: [...segments, e.propertyName], message: `key ${e.message ?? 'is invalid'}` };
  switch (e.keyword) {
    case 'additionalProperties':
      return { segments: [...segments, String(p.additionalProperty)], message: 'unknown field' };
    case 'required':
      return { segments: [...segments, String(p.missingProperty)], message: 'is required' };
    case 'enum':
      return { segments, message: `must be one of: ${(p.allowedValues as unknown[]).join(', ')}` };
    default:
      return { segments, message: e.message ?? 'is invalid' };
  }
}

/** Adds line/column to issues whose path names a node in the YAML document. */
export function locate(doc: Document, lc: LineCounter, segments: readonly (string | number)[]): { line?: number; col?: number } {
  for (let n = segments.length; n >= 0; n--) {
    const node = doc.getIn(segments.slice(0, n), true) as { range?: [number, number, number] } | undefined;
    if (node && Array.isArray(node.range)) {
      const pos = lc.linePos(node.range[0]);
      return { line: pos.line, col: pos.col };
    }
  }
  return {};
}

/**
 * TypeBox's Value.Default does not descend into Record values, so `workflows: {name: {...}}`
 * would miss its steps' defaults (required: 1, timeout_hours: 24): fill each one here.
 */
function defaultWorkflows(config: unknown): void {
  const wfs = (config as { workflows?: unknown }).workflows;
  if (wfs === null || typeof wfs !== 'object' || Array.isArray(wfs)) return;
  for (const [name, wf] of Object.entries(wfs)) (wfs as Record<string, unknown>)[name] = Value.Default(WorkflowSchema, wf);
}

export interface ParsedConfig {
  config: Config;
  doc: Document;
  lineCounter: LineCounter;
}

/** Parses and schema-validates config text. Throws {@link ConfigError} naming every bad field. */
/**
 * ajv reports a value that fits no branch of a union (a secret: a string, {env} or {file}) once
 * per branch plus "must match a schema in anyOf". Where one branch's own check failed (the
 * string did not match its pattern), that is the error worth reading: the branches' type
 * mismatches and the anyOf summary are dropped. A value of no branch's type keeps the summary.
 */
function relevantErrors(errors: readonly ErrorObject[]): ErrorObject[] {
  const unions = new Set(errors.filter((e) => e.keyword === 'anyOf').map((e) => e.instancePath));
  if (unions.size === 0) return [...errors];
  const specific = new Set(errors.filter((e) => unions.has(e.instancePath) && e.keyword !== 'anyOf' && e.keyword !== 'type').map((e) => e.instancePath));
  return errors.filter((e) => !specific.has(e.instancePath) || (e.keyword !== 'anyOf' && e.keyword !== 'type'));
}

export function parseConfig(text: string, source: string): ParsedConfig {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      source,
      doc.errors.map((e) => {
        const pos = lineCounter.linePos(e.pos[0]);
        return { path: '', message: `YAML syntax: ${e.message.split('\n')[0]}`, line: pos.line, col: pos.col };
      }),
    );
  }
  // maxAliasCount guards against alias bombs ("billion laughs").
  const raw: unknown = doc.toJS({ maxAliasCount: 1000 });
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigError(source, [{ path: '', message: 'the config must be a YAML mapping' }]);
  }
  const withDefaults = Value.Default(ConfigSchema, structuredClone(raw)) as unknown;
  defaultWorkflows(withDefaults);
  if (!validate(withDefaults)) {
    const seen = new Set<string>();
    const issues: ConfigIssue[] = [];
    // ajv follows a refused key's own error with a summary naming no key: dropped.
    for (const e of relevantErrors((validate.errors ?? []).filter((e) => e.keyword !== 'propertyNames'))) {
      const { segments, message } = describe(e);
      const key = `${formatPath(segments)}|${message}`;
      if (seen.has(key)) continue;
      seen.add(key);
      issues.push({ path: formatPath(segments), message, ...locate(doc, lineCounter, segments) });
    }
    throw new ConfigError(source, issues);
  }
  return { config: withDefaults, doc, lineCounter };
}
