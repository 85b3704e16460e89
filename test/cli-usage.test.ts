/**
 * The CLI as a new user meets it (issue 21, item 2): --help for every command, --version, an
 * unknown command or flag answered with the usage and exit 2 and no stack trace, a port in use
 * in at most three lines naming the port and how to change it (also under --workers), ports
 * from ASCEND_GRPC_PORT / ASCEND_HTTP_PORT between the flag and the file, shell completion, and
 * a `schema` an editor can use on the bundled configs. The built CLI, in real child processes.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import AjvModule from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { writeConfig } from './helpers/app.js';
import { runCli, spawnSidecar } from './helpers/process.js';

const Ajv = AjvModule.default ?? AjvModule;
const QUICKSTART = new URL('../examples/quickstart.yaml', import.meta.url).pathname;
const CONTRACT = new URL('../../shared/contract/core.yaml', import.meta.url).pathname;
const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
const COMMANDS = ['serve', 'validate', 'migrate', 'check', 'schema', 'hash-key', 'completion'];

const cli = (args: string[], env: NodeJS.ProcessEnv = {}) => runCli(args, { env, timeoutMs: 60_000 });

const noStack = (text: string) => expect(text).not.toMatch(/^\s+at /m);

describe('help, version and usage mistakes', () => {
  it('--version prints the package version', async () => {
    expect(await cli(['--version'])).toMatchObject({ code: 0, stdout: `${VERSION}\n` });
  });

  it.each(COMMANDS)('%s --help prints its usage and exits 0', async (name) => {
    const r = await cli([name, '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Usage: ascend-sidecar ${name}`);
  });

  it('--help lists every command', async () => {
    const r = await cli(['--help']);
    expect(r.code).toBe(0);
    for (const name of COMMANDS) expect(r.stdout).toMatch(new RegExp(`^  ${name} `, 'm'));
  });

  it.each([
    [['validate', '--foo'], "Unknown option '--foo'", 'Usage: ascend-sidecar validate --config FILE'],
    [['nope'], 'unknown command "nope"', 'Commands:'],
    [['validate'], '--config FILE is required', 'Usage: ascend-sidecar validate'],
    [['serve', '--config', QUICKSTART, '--grpc-port', 'x'], '--grpc-port must be an integer from 0 to 65535', 'Usage: ascend-sidecar serve'],
    [['check', '--config', QUICKSTART, '--request', 'r.json', '--expect', 'maybe'], '--expect must be one of allowed, denied, pending', 'Usage: ascend-sidecar check'],
    [['completion', 'fish'], 'name one shell: bash or zsh', 'Usage: ascend-sidecar completion bash|zsh'],
  ])('%j: the reason and the usage, exit 2, no stack trace', async (args, reason, usage) => {
    const r = await cli(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(reason);
    expect(r.stderr).toContain(usage);
    noStack(r.stderr);
  });
});

describe('ports', () => {
  let busy: Server;
  let busyPort = 0;
  beforeAll(async () => {
    busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    busyPort = (busy.address() as { port: number }).port;
  });
  afterAll(() => new Promise<void>((r) => busy.close(() => r())));

  it.each([
    ['the gRPC port', ['--grpc-port', 'BUSY', '--http-port', '0'], '--grpc-port, ASCEND_GRPC_PORT or server.grpc_port'],
    ['the HTTP port', ['--grpc-port', '0', '--http-port', 'BUSY'], '--http-port, ASCEND_HTTP_PORT or server.http_port'],
    ['the HTTP port under --workers 2', ['--grpc-port', '0', '--http-port', 'BUSY', '--workers', '2'], '--http-port, ASCEND_HTTP_PORT or server.http_port'],
  ])('%s in use: at most three lines naming it and how to change it, exit 1', async (_what, flags, how) => {
    const r = await cli(['serve', '--config', QUICKSTART, '--host', '127.0.0.1', ...flags.map((f) => (f === 'BUSY' ? String(busyPort) : f))]);
    expect(r.code).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines.length).toBeLessThanOrEqual(3);
    expect(r.stderr).toContain(`127.0.0.1:${busyPort}: the port is already in use`);
    expect(r.stderr).toContain(how);
    expect(r.stderr.match(/already in use/g)).toHaveLength(1); // once, whatever the worker count
    noStack(r.stderr);
  }, 90_000);

  it('takes the environment over the file, and the flag over the environment', async () => {
    const { path } = writeConfig(`server: {grpc_port: ${busyPort}, http_port: ${busyPort}}\n`);
    const fromEnv = await spawnSidecar(path, [], { ASCEND_GRPC_PORT: '0', ASCEND_HTTP_PORT: '0' });
    await fromEnv.stop();
    // The flag wins: env names the busy port, the flags (spawnSidecar passes 0) pick free ones.
    const fromFlag = await spawnSidecar(path, [], { ASCEND_GRPC_PORT: String(busyPort), ASCEND_HTTP_PORT: String(busyPort) });
    await fromFlag.stop();
    const bad = await cli(['serve', '--config', path], { ASCEND_HTTP_PORT: 'eighty' });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('ASCEND_HTTP_PORT must be an integer from 0 to 65535, got "eighty"');
  }, 90_000);
});

describe('completion and schema', () => {
  it('completion bash is valid bash naming every command; zsh is a compdef script', async () => {
    const bash = await cli(['completion', 'bash']);
    expect(bash.code).toBe(0);
    expect(spawnSync('bash', ['-n'], { input: bash.stdout }).status).toBe(0);
    for (const name of COMMANDS) expect(bash.stdout).toContain(name);
    const zsh = await cli(['completion', 'zsh']);
    expect(zsh.stdout).toMatch(/^#compdef ascend-sidecar/);
    expect(zsh.stdout).toContain('--config');
  });

  it('schema prints a JSON Schema an editor accepts for the quickstart and the core contract as written', async () => {
    const r = await cli(['schema']);
    const schema = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(schema).toMatchObject({ $schema: 'http://json-schema.org/draft-07/schema#', $id: expect.stringMatching(/^https:/), title: 'ascend-sidecar config' });
    const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);
    for (const file of [QUICKSTART, CONTRACT]) {
      expect(validate(parse(readFileSync(file, 'utf8'))), `${file}: ${JSON.stringify(validate.errors)}`).toBe(true);
    }
    expect(validate({ fail_mode: 'shut' })).toBe(false); // still a real schema
  });
});
