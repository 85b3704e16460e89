/** `check`: explain one request as the server would decide it (the policy author's `opa eval`). */
import { readFileSync } from 'node:fs';
import { explainRequest, formatReport } from './check.js';
import { RequestFileError } from './request-file.js';
import { required, UsageError, type Command } from './command.js';
import { loadConfig } from './validate-command.js';

const DECISIONS = ['allowed', 'denied', 'pending'];

export const checkCommand: Command = {
  name: 'check',
  summary: 'explain the decision for one request file (exit 1 when --expect differs)',
  usage: '--config FILE --request REQUEST.json [--json] [--expect allowed|denied|pending]',
  help: `REQUEST.json: {method, path, host, headers, body, scheme, source_ip, principal, metadata}, an Envoy
CheckRequest in proto3 JSON (as grpcurl prints it) or a Kong opa input ({input: {request: {http}}}).
An unknown field is an error (exit 2). Examples: examples/requests/.`,
  options: {
    config: { type: 'string', short: 'c' },
    request: { type: 'string', short: 'r' },
    json: { type: 'boolean' },
    expect: { type: 'string' },
  },
  async run(v) {
    const config = required(v, 'config', checkCommand);
    const file = required(v, 'request', checkCommand);
    const expect = v.expect as string | undefined;
    if (expect !== undefined && !DECISIONS.includes(expect)) throw new UsageError(`--expect must be one of ${DECISIONS.join(', ')}, got "${expect}"`, checkCommand);
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(file, 'utf8'));
    } catch (e) {
      process.stderr.write(`check: cannot read ${file}: ${(e as Error).message}\n`);
      return 2;
    }
    const rt = loadConfig(config);
    if (typeof rt === 'number') return rt;
    let report;
    try {
      report = explainRequest(rt, json);
    } catch (e) {
      if (!(e instanceof RequestFileError)) throw e;
      process.stderr.write(`check: ${file}: ${e.message}\n`);
      return 2;
    }
    process.stdout.write(v.json === true ? `${JSON.stringify(report, null, 2)}\n` : `${formatReport(report)}\n`);
    if (expect !== undefined && expect !== report.decision.decision) {
      process.stderr.write(`expected ${expect}, got ${report.decision.decision}\n`);
      return 1;
    }
    return 0;
  },
};
