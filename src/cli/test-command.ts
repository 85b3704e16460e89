/** `test`: run policy test files (the policy author's `opa test`); exit 0 all pass, 1 a test failed, 2 a bad file. */
import { writeFileSync } from 'node:fs';
import type { Runtime } from '../config/runtime.js';
import { UsageError, type Command } from './command.js';
import { RequestFileError } from './request-file.js';
import { Coverage, junitXml, loadTestFile, runTest, TestFileError, type TestOutcome } from './test-suite.js';
import { loadConfig } from './validate-command.js';

interface Suite {
  file: string;
  outcomes: TestOutcome[];
  error?: string;
}

export const testCommand: Command = {
  name: 'test',
  summary: 'run policy test files: requests and the decisions they must get (exit 1 on a failure, 2 on a bad file)',
  usage: 'FILE... [--config FILE] [--junit FILE] [--coverage]',
  help: `FILE: YAML with \`config:\` (relative to the file) and \`tests:\` [{name, request, expect}].
request: an HTTP request {method, path, host, headers, body, …}, an Envoy CheckRequest (proto3
JSON) or a Kong opa input; expect: {decision, policy_id, code, risk_score: {gte, lte}}.
--config overrides every file's config; --junit writes JUnit XML; --coverage lists the policies
and routes no test matched. Unknown fields are errors. See docs/policy-tests.md.`,
  positionals: true,
  options: {
    config: { type: 'string', short: 'c' },
    junit: { type: 'string' },
    coverage: { type: 'boolean' },
  },
  async run(v, files) {
    if (files.length === 0) throw new UsageError('name at least one test file', testCommand);
    const runtimes = new Map<string, Runtime | number>();
    const coverage = new Map<Runtime, Coverage>();
    const suites: Suite[] = [];
    const out = (line: string) => process.stdout.write(`${line}\n`);
    let bad = false;
    for (const file of files) {
      const suite: Suite = { file, outcomes: [] };
      suites.push(suite);
      const fail = (message: string) => {
        suite.error = message;
        bad = true;
        process.stderr.write(`${file}: ${message}\n`);
      };
      let tf;
      try {
        tf = loadTestFile(file);
      } catch (e) {
        if (!(e instanceof TestFileError)) throw e;
        fail(e.message);
        continue;
      }
      const configPath = (v.config as string | undefined) ?? tf.config;
      if (configPath === undefined) {
        fail('names no config: add `config:` or pass --config');
        continue;
      }
      if (!runtimes.has(configPath)) runtimes.set(configPath, loadConfig(configPath));
      const rt = runtimes.get(configPath) as Runtime | number;
      if (typeof rt === 'number') {
        fail(`config ${configPath} does not load`);
        continue;
      }
      const cov = coverage.get(rt) ?? new Coverage();
      coverage.set(rt, cov);
      out(`${file} (config ${configPath})`);
      for (const t of tf.tests) {
        let o: TestOutcome;
        try {
          o = runTest(rt, t);
        } catch (e) {
          if (!(e instanceof RequestFileError)) throw e;
          fail(`test "${t.name}": ${e.message}`);
          break;
        }
        suite.outcomes.push(o);
        cov.add(o.report);
        const d = o.report.decision;
        const got = `${d.decision}${d.policyId ? ` by ${d.policyId}` : ''}, code ${d.code}`;
        out(o.failures.length === 0 ? `  ok    ${t.name}` : `  FAIL  ${t.name}: ${o.failures.join('; ')} (got ${got})`);
      }
    }
    const ran = suites.flatMap((s) => s.outcomes);
    const failed = ran.filter((o) => o.failures.length > 0).length;
    if (v.coverage === true) {
      for (const [path, rt] of runtimes) {
        if (typeof rt === 'number') continue;
        const m = (coverage.get(rt) ?? new Coverage()).missing(rt);
        out(`coverage of ${path}: ${m.policies.length === 0 && m.routes.length === 0 ? 'every policy and route matched by a test' : ''}`);
        if (m.policies.length > 0) out(`  policies no test matched: ${m.policies.join(', ')}`);
        if (m.routes.length > 0) out(`  routes no test matched: ${m.routes.join(', ')}`);
      }
    }
    const broken = suites.filter((s) => s.error !== undefined).length;
    out(`${ran.length - failed} passed, ${failed} failed${broken > 0 ? `, ${broken} file${broken > 1 ? 's' : ''} could not run` : ''}`);
    if (typeof v.junit === 'string') writeFileSync(v.junit, junitXml(suites));
    return bad ? 2 : failed > 0 ? 1 : 0;
  },
};
