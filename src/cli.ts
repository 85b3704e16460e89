#!/usr/bin/env node
/**
 * ascend-sidecar serve | validate | check | schema — see README "CLI".
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { ConfigError } from './config/errors.js';
import { loadRuntimeSync } from './config/load.js';
import { ConfigSchema } from './config/schema.js';
import { explainRequest, formatReport } from './cli/check.js';

const USAGE = `Usage:
  ascend-sidecar serve    --config FILE [--grpc-port N] [--http-port N] [--host ADDR] [--no-watch] [--workers N|auto]
  ascend-sidecar validate --config FILE
  ascend-sidecar check    --config FILE --request REQUEST.json [--json] [--expect allowed|denied|pending]
  ascend-sidecar schema   (prints the config JSON Schema)
  ascend-sidecar hash-key [--key KEY | --generate]   (SHA-256 hex of an API key read from stdin, for api_keys[].sha256)

Ports default to the config's server.grpc_port (9191) and server.http_port (8181); 0 picks a free port.`;

function fail(message: string, code = 2): never {
  process.stderr.write(`${message}\n`);
  process.exit(code);
}

function port(v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) fail(`${flag} must be an integer from 0 to 65535, got "${v}"`);
  return n;
}

/** `--workers N` or `auto` (one per core); 1 when absent. */
function workerCount(v: string | undefined): number {
  if (v === undefined) return 1;
  if (v === 'auto') return availableParallelism();
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 256) fail(`--workers must be an integer from 1 to 256 or "auto", got "${v}"`);
  return n;
}

function loadOrExit(path: string) {
  try {
    return loadRuntimeSync(path, 1);
  } catch (e) {
    if (e instanceof ConfigError) fail(e.message, 1);
    throw e;
  }
}

/**
 * `hash-key`: the digest to put in `api_keys[].sha256`. The key comes from --key or stdin (one
 * trailing newline dropped, so `echo KEY | ascend-sidecar hash-key` works); --generate makes a
 * random key and prints both. Prefer stdin: --key leaves the key in shell history.
 */
async function hashKey(key: string | undefined, generate: boolean): Promise<void> {
  const { generateKey, sha256Hex } = await import('./api/keys.js');
  if (generate) {
    const k = generateKey();
    process.stdout.write(`key:    ${k.key}\nsha256: ${k.sha256}\n`);
    return;
  }
  let text = key;
  if (text === undefined) {
    if (process.stdin.isTTY) fail('hash-key: pass the key on stdin (or --key KEY, or --generate)');
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    text = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
  }
  if (text === '') fail('hash-key: the key is empty');
  process.stdout.write(`${sha256Hex(text)}\n`);
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  const { values } = parseArgs({
    args: rest,
    options: {
      config: { type: 'string', short: 'c' },
      'grpc-port': { type: 'string' },
      'http-port': { type: 'string' },
      host: { type: 'string' },
      'no-watch': { type: 'boolean' },
      workers: { type: 'string' },
      request: { type: 'string', short: 'r' },
      json: { type: 'boolean' },
      expect: { type: 'string' },
      key: { type: 'string' },
      generate: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (command === undefined || command === 'help' || command === '--help' || values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (command === 'schema') {
    process.stdout.write(`${JSON.stringify(ConfigSchema, null, 2)}\n`);
    return;
  }
  if (command === 'hash-key') return hashKey(values.key, values.generate === true);
  const config = values.config ?? fail(`${command}: --config FILE is required\n\n${USAGE}`);
  switch (command) {
    case 'serve': {
      const workers = workerCount(values.workers);
      if (workers > 1 && (await import('node:cluster')).default.isPrimary) {
        const { runPrimary } = await import('./cluster.js');
        return runPrimary(config, workers);
      }
      // Loaded on demand: validate/check should not pay for gRPC and HTTP server start-up.
      const { serve } = await import('./server.js');
      return serve({ configPath: config, grpcPort: port(values['grpc-port'], '--grpc-port'), httpPort: port(values['http-port'], '--http-port'), host: values.host, watch: !values['no-watch'] });
    }
    case 'validate': {
      const rt = loadOrExit(config);
      const c = rt.config;
      process.stdout.write(`${config}: OK (${c.policies.length} policies, ${c.routes.length} routes, ${c.agents.length} agents; sha256 ${rt.hash})\n`);
      return;
    }
    case 'check': {
      const file = values.request ?? fail('check: --request FILE is required');
      let json: unknown;
      try {
        json = JSON.parse(readFileSync(file, 'utf8'));
      } catch (e) {
        fail(`check: cannot read ${file}: ${(e as Error).message}`);
      }
      const report = explainRequest(loadOrExit(config), json);
      process.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatReport(report)}\n`);
      if (values.expect !== undefined && values.expect !== report.decision.decision) {
        fail(`expected ${values.expect}, got ${report.decision.decision}`, 1);
      }
      return;
    }
    default:
      fail(`unknown command "${command}"\n\n${USAGE}`);
  }
}

main(process.argv.slice(2)).catch((e: unknown) => fail(e instanceof Error ? (e.stack ?? e.message) : String(e), 1));
