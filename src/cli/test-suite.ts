/**
 * Policy test files for `ascend-sidecar test` (the policy author's `opa test`): a config, and
 * requests with what each must be decided. Every field is checked; an unknown one is an error
 * naming it (exit 2), so a misspelled `expect` can never pass.
 *
 * ```yaml
 * config: ../examples/quickstart.yaml      # relative to this file; --config overrides
 * tests:
 *   - name: large refunds need approval
 *     request: {method: POST, path: "/v1/refunds/r-1?amount=5000", headers: {x-agent-id: billing-agent}}
 *     expect: {decision: pending, policy_id: pol_refund_large}
 * ```
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse } from 'yaml';
import type { Runtime } from '../config/runtime.js';
import { explainRequest, type CheckReport } from './check.js';
import { unknownFields } from './request-file.js';

export interface Expectation {
  decision?: 'allowed' | 'denied' | 'pending';
  /** null: decided by no policy (the default, an input error). */
  policy_id?: string | null;
  code?: string;
  risk_score?: { gte?: number; lte?: number };
}

export interface TestCase {
  readonly name: string;
  readonly request: unknown;
  readonly expect: Expectation;
}

export interface TestFile {
  readonly path: string;
  /** The config to test against, resolved against the file's directory; undefined when the file names none. */
  readonly config: string | undefined;
  readonly tests: readonly TestCase[];
}

/** A test file that cannot be run as written: exit 2. */
export class TestFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TestFileError';
  }
}

const DECISIONS = ['allowed', 'denied', 'pending'];
const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

function checkExpect(e: unknown, at: string): Expectation {
  if (!isObject(e)) throw new TestFileError(`${at}.expect must be an object`);
  const bad = unknownFields(e, { decision: 'leaf', policy_id: 'leaf', code: 'leaf', risk_score: { gte: 'leaf', lte: 'leaf' } });
  if (bad.length > 0) throw new TestFileError(`${at}.expect: unknown field ${bad.map((b) => `"${b}"`).join(', ')} (decision, policy_id, code, risk_score: {gte, lte})`);
  if (Object.keys(e).length === 0) throw new TestFileError(`${at}.expect checks nothing`);
  if (e.decision !== undefined && !DECISIONS.includes(e.decision as string)) throw new TestFileError(`${at}.expect.decision must be one of ${DECISIONS.join(', ')}`);
  if (e.policy_id !== undefined && e.policy_id !== null && typeof e.policy_id !== 'string') throw new TestFileError(`${at}.expect.policy_id must be a string or null`);
  if (e.code !== undefined && typeof e.code !== 'string') throw new TestFileError(`${at}.expect.code must be a string`);
  if (e.risk_score !== undefined) {
    const r = e.risk_score;
    if (!isObject(r) || Object.values(r).some((v) => typeof v !== 'number')) throw new TestFileError(`${at}.expect.risk_score must be {gte: N, lte: N}`);
  }
  return e as Expectation;
}

/** Reads and checks a test file. */
export function loadTestFile(path: string): TestFile {
  let doc: unknown;
  try {
    doc = parse(readFileSync(path, 'utf8'), { uniqueKeys: true });
  } catch (e) {
    throw new TestFileError(`cannot read: ${(e as Error).message.split('\n')[0]}`);
  }
  if (!isObject(doc)) throw new TestFileError('must be a YAML mapping with `tests:`');
  const top = unknownFields(doc, { config: 'leaf', tests: '*' });
  if (top.length > 0) throw new TestFileError(`unknown field ${top.map((b) => `"${b}"`).join(', ')} (config, tests)`);
  if (doc.config !== undefined && typeof doc.config !== 'string') throw new TestFileError('config must be a path');
  if (!Array.isArray(doc.tests) || doc.tests.length === 0) throw new TestFileError('tests must be a non-empty list');
  const tests = doc.tests.map((t, i): TestCase => {
    const at = `tests[${i}]`;
    if (!isObject(t)) throw new TestFileError(`${at} must be a mapping`);
    const bad = unknownFields(t, { name: 'leaf', request: '*', expect: '*' });
    if (bad.length > 0) throw new TestFileError(`${at}: unknown field ${bad.map((b) => `"${b}"`).join(', ')} (name, request, expect)`);
    if (typeof t.name !== 'string' || t.name === '') throw new TestFileError(`${at}.name must be a non-empty string`);
    if (t.request === undefined) throw new TestFileError(`${at} (${t.name}) has no request`);
    return { name: t.name, request: t.request, expect: checkExpect(t.expect, `${at} (${t.name})`) };
  });
  return { path, config: doc.config === undefined ? undefined : resolve(dirname(path), doc.config), tests };
}

export interface TestOutcome {
  readonly test: TestCase;
  readonly report: CheckReport;
  /** What differed from `expect`; empty when the test passed. */
  readonly failures: readonly string[];
}

/** Runs one test (RequestFileError for a request that does not describe one). */
export function runTest(rt: Runtime, test: TestCase): TestOutcome {
  const report = explainRequest(rt, test.request);
  const d = report.decision;
  const e = test.expect;
  const failures: string[] = [];
  if (e.decision !== undefined && e.decision !== d.decision) failures.push(`decision: expected ${e.decision}, got ${d.decision}`);
  if (e.policy_id !== undefined && e.policy_id !== d.policyId) failures.push(`policy_id: expected ${e.policy_id}, got ${d.policyId}`);
  if (e.code !== undefined && e.code !== d.code) failures.push(`code: expected ${e.code}, got ${d.code}`);
  const r = e.risk_score;
  if (r?.gte !== undefined && !(d.riskScore >= r.gte)) failures.push(`risk_score: expected ≥ ${r.gte}, got ${d.riskScore}`);
  if (r?.lte !== undefined && !(d.riskScore <= r.lte)) failures.push(`risk_score: expected ≤ ${r.lte}, got ${d.riskScore}`);
  return { test, report, failures };
}

/** Policies and routes of a config that no test's request matched (`--coverage`). */
export class Coverage {
  private readonly policies = new Set<string>();
  private readonly routes = new Set<string>();

  add(r: CheckReport): void {
    for (const id of r.all_matched ?? r.matched.map((m) => m.id)) this.policies.add(id);
    if (r.route) this.routes.add(r.route);
  }

  missing(rt: Runtime): { policies: string[]; routes: string[] } {
    const c = rt.config;
    return {
      policies: c.policies.map((p) => p.id).filter((id) => !this.policies.has(id)),
      routes: c.routes.map((r, i) => r.name ?? `routes[${i}]`).filter((n) => !this.routes.has(n)),
    };
  }
}

const xml = (s: string): string => s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`).replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '');

/** JUnit XML (the format CI systems read): one testsuite per file, a <failure> per failed test, an <error> per file that could not run. */
export function junitXml(suites: readonly { file: string; outcomes: readonly TestOutcome[]; error?: string }[]): string {
  const out = ['<?xml version="1.0" encoding="UTF-8"?>'];
  const total = suites.reduce((n, s) => n + s.outcomes.length, 0);
  const failed = suites.reduce((n, s) => n + s.outcomes.filter((o) => o.failures.length > 0).length, 0);
  const errors = suites.filter((s) => s.error !== undefined).length;
  out.push(`<testsuites name="ascend-sidecar test" tests="${total}" failures="${failed}" errors="${errors}">`);
  for (const s of suites) {
    const f = s.outcomes.filter((o) => o.failures.length > 0).length;
    out.push(`  <testsuite name="${xml(s.file)}" tests="${s.outcomes.length}" failures="${f}" errors="${s.error === undefined ? 0 : 1}">`);
    if (s.error !== undefined) out.push(`    <error message="${xml(s.error)}"/>`);
    for (const o of s.outcomes) {
      const open = `    <testcase classname="${xml(s.file)}" name="${xml(o.test.name)}"`;
      if (o.failures.length === 0) out.push(`${open}/>`);
      else out.push(`${open}>`, `      <failure message="${xml(o.failures.join('; '))}">${xml(o.failures.join('\n'))}</failure>`, '    </testcase>');
    }
    out.push('  </testsuite>');
  }
  out.push('</testsuites>', '');
  return out.join('\n');
}
