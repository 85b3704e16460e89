/**
 * Condition values compiled once per config load into matchers.
 *
 * A value is a scalar (equality; strings may use `*` globs), a list (any of), `null` (absent),
 * or an operator object whose operators must all hold: `in`, `not_in`, `prefix`, `glob`,
 * `regex` (RE2 syntax, linear time: patterns RE2 cannot run, such as back-references, are
 * rejected at load), `gt`, `gte`, `lt`, `lte` (numbers, which fail closed: see
 * {@link thresholdNumber}), `exists`. When the request value is a list (capabilities, a
 * repeated query key) a positive matcher holds if any element matches and `not_in` holds only
 * if no element does.
 */
import { RE2JS } from 're2js';
import type { EvalInput } from '../core/action.js';
import { RequestError } from '../core/errors.js';
import type { IssueList } from '../config/errors.js';
import { compileGlob } from './glob.js';
import { compilePath, type Getter } from './paths.js';

export type Matcher = (actual: unknown) => boolean;

export interface CompiledCondition {
  readonly path: string;
  readonly get: Getter;
  readonly test: Matcher;
}

/** The one spelling of a number a request may use where a condition reads one. */
const DECIMAL = /^-?[0-9]+(\.[0-9]+)?$/;
const MAX_DECIMAL_LENGTH = 32;

/**
 * A finite JSON number, or a string in plain ASCII decimal (`-?\d+(\.\d+)?`, at most 32
 * characters); NaN for anything else. Upstream parsers disagree on every other spelling
 * (`5000x`, `5_000`, `5,000`, `+5000`, `1.5e3`, `0x5DC`, full-width or Arabic-Indic digits):
 * parseInt and Python's int() read 5000 where Number() reads NaN, so no such spelling may be
 * taken as "not over the threshold".
 */
export function parseDecimal(v: unknown): number {
  if (typeof v === 'number') return Number.isFinite(v) ? v : Number.NaN;
  if (typeof v === 'string' && v.length <= MAX_DECIMAL_LENGTH && DECIMAL.test(v)) return Number(v);
  return Number.NaN;
}

/**
 * The number a threshold compares, failing closed: an absent value is undefined (the
 * condition does not hold); any other value that is not a {@link parseDecimal} number denies
 * the whole request (HTTP 400 `invalid_number`) instead of quietly not matching — which would
 * let the request fall through to a more permissive policy.
 */
export function thresholdNumber(v: unknown, label: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  const n = parseDecimal(v);
  if (Number.isNaN(n)) {
    const shown = typeof v === 'string' ? JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v) : typeof v;
    throw new RequestError('invalid_number', `${label}: ${shown} is not a number (plain decimal digits, at most ${MAX_DECIMAL_LENGTH} characters)`);
  }
  return n;
}

type Scalar = string | number | boolean;
const isScalar = (v: unknown): v is Scalar => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';

function scalarMatcher(expected: Scalar): Matcher {
  if (typeof expected === 'number') return (a) => parseDecimal(a) === expected;
  if (typeof expected === 'boolean') return (a) => a === expected || a === String(expected);
  const glob = compileGlob(expected);
  return (a) => (typeof a === 'string' ? glob(a) : (typeof a === 'number' || typeof a === 'boolean') && glob(String(a)));
}

/** Lifts a matcher over list values: true when any element matches. */
function anyElement(m: Matcher): Matcher {
  return (a) => (Array.isArray(a) ? a.some(m) : m(a));
}

const isAbsent = (a: unknown): boolean => a === undefined || a === null;

function listMatcher(items: unknown[], issues: IssueList, at: (string | number)[]): Matcher | undefined {
  const ms: Matcher[] = [];
  items.forEach((item, idx) => {
    if (isScalar(item)) ms.push(scalarMatcher(item));
    else issues.add([...at, idx], 'list items must be strings, numbers or booleans');
  });
  return ms.length === items.length ? (a) => ms.some((m) => m(a)) : undefined;
}

type OperatorCompiler = (operand: unknown, issues: IssueList, at: (string | number)[]) => Matcher | undefined;

/** The condition a matcher compiled at `at` belongs to (`parameters.amount`, `headers.x-amount`). */
function conditionLabel(at: readonly (string | number)[]): string {
  return String(at.length >= 2 ? at[at.length - 2] : at[0] ?? 'value');
}

function numeric(cmp: (a: number, b: number) => boolean): OperatorCompiler {
  return (operand, issues, at) => {
    if (typeof operand !== 'number' || !Number.isFinite(operand)) {
      issues.add(at, 'must be a number');
      return undefined;
    }
    const label = conditionLabel(at);
    const one = (a: unknown): boolean => {
      const n = thresholdNumber(a, label);
      return n !== undefined && cmp(n, operand);
    };
    // Every element of a list is checked, so an unreadable one cannot hide behind a match.
    return (a) => {
      if (!Array.isArray(a)) return one(a);
      let hit = false;
      for (const x of a) if (one(x)) hit = true;
      return hit;
    };
  };
}

function stringOperand(make: (s: string) => Matcher | string): OperatorCompiler {
  return (operand, issues, at) => {
    if (typeof operand !== 'string') {
      issues.add(at, 'must be a string');
      return undefined;
    }
    const m = make(operand);
    if (typeof m === 'string') {
      issues.add(at, m);
      return undefined;
    }
    return anyElement((a) => (typeof a === 'string' || typeof a === 'number') && m(String(a)));
  };
}

function compileRegex(pattern: string): Matcher | string {
  try {
    const re = RE2JS.compile(pattern);
    return (s) => re.test(s as string);
  } catch (e) {
    return `regex is not valid RE2 (linear-time) syntax: ${(e as Error).message}`;
  }
}

const OPERATORS: Record<string, OperatorCompiler> = {
  in: (operand, issues, at) => {
    if (!Array.isArray(operand)) return void issues.add(at, 'must be a list');
    const m = listMatcher(operand, issues, at);
    return m && anyElement(m);
  },
  not_in: (operand, issues, at) => {
    if (!Array.isArray(operand)) return void issues.add(at, 'must be a list');
    const m = listMatcher(operand, issues, at);
    return m && ((a) => (Array.isArray(a) ? !a.some(m) : !m(a)));
  },
  prefix: stringOperand((p) => (s) => (s as string).startsWith(p)),
  glob: stringOperand((p) => compileGlob(p) as Matcher),
  regex: stringOperand(compileRegex),
  gt: numeric((a, b) => a > b),
  gte: numeric((a, b) => a >= b),
  lt: numeric((a, b) => a < b),
  lte: numeric((a, b) => a <= b),
  exists: (operand, issues, at) => {
    if (typeof operand !== 'boolean') return void issues.add(at, 'must be true or false');
    return operand ? (a) => !isAbsent(a) : isAbsent;
  },
};

/** Compiles one condition value; records problems in `issues` under `at` and returns undefined. */
export function compileValue(spec: unknown, issues: IssueList, at: (string | number)[]): Matcher | undefined {
  if (spec === null) return isAbsent;
  if (isScalar(spec)) return anyElement(scalarMatcher(spec));
  if (Array.isArray(spec)) {
    const m = listMatcher(spec, issues, at);
    return m && anyElement(m);
  }
  if (typeof spec !== 'object') return void issues.add(at, 'unsupported condition value');
  const entries = Object.entries(spec as Record<string, unknown>);
  if (entries.length === 0) return void issues.add(at, 'an operator object needs at least one operator');
  const ms: Matcher[] = [];
  for (const [op, operand] of entries) {
    const compile = OPERATORS[op];
    if (!compile) {
      issues.add([...at, op], `unknown operator; expected one of ${Object.keys(OPERATORS).join(', ')}`);
      continue;
    }
    const m = compile(operand, issues, [...at, op]);
    if (m) ms.push(m);
  }
  if (ms.length !== entries.length) return undefined;
  return ms.length === 1 ? (ms[0] as Matcher) : (a) => ms.every((m) => m(a));
}

/** Compiles a `conditions` mapping (all must hold). */
export function compileConditions(
  conditions: Record<string, unknown>,
  issues: IssueList,
  at: (string | number)[],
): CompiledCondition[] {
  const out: CompiledCondition[] = [];
  for (const [path, spec] of Object.entries(conditions)) {
    const get = compilePath(path);
    if (typeof get === 'string') {
      issues.add([...at, path], get);
      continue;
    }
    const test = compileValue(spec, issues, [...at, path]);
    if (test) out.push({ path, get, test });
  }
  return out;
}

export function allHold(conds: readonly CompiledCondition[], input: EvalInput): boolean {
  for (let i = 0; i < conds.length; i++) {
    const c = conds[i] as CompiledCondition;
    if (!c.test(c.get(input))) return false;
  }
  return true;
}
