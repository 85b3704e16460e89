#!/usr/bin/env node
/**
 * The ascend-sidecar command: serve | validate | migrate | check | test | suggest | schema | hash-key | completion (README
 * "CLI"). Each command lives in src/cli/ with its flags and help; this entry dispatches, prints
 * `--help` and `--version`, and answers a usage mistake (unknown command or flag, a missing or
 * bad value) with the usage and exit 2 — never a stack trace.
 */
import { readFileSync } from 'node:fs';
import { checkCommand } from './cli/check-command.js';
import { parseCommandArgs, UsageError, type Command } from './cli/command.js';
import { completionCommand } from './cli/completion-command.js';
import { hashKeyCommand } from './cli/hash-key-command.js';
import { migrateCommand } from './cli/migrate-command.js';
import { schemaCommand } from './cli/schema-command.js';
import { serveCommand } from './cli/serve-command.js';
import { suggestCommand } from './cli/suggest-command.js';
import { testCommand } from './cli/test-command.js';
import { validateCommand } from './cli/validate-command.js';

const COMMANDS: readonly Command[] = [
  serveCommand, validateCommand, migrateCommand, checkCommand, testCommand, suggestCommand, schemaCommand, hashKeyCommand, completionCommand(() => COMMANDS),
];

const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

function usageOf(c: Command): string {
  return `ascend-sidecar ${c.name}${c.usage ? ` ${c.usage}` : ''}`;
}

function overview(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return `ascend-sidecar ${VERSION}: an authorization sidecar for AI agents

Usage: ascend-sidecar <command> [flags]

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n')}

ascend-sidecar <command> --help   the command's flags
ascend-sidecar --version          the version`;
}

function commandHelp(c: Command): string {
  return `${c.summary}\n\nUsage: ${usageOf(c)}${c.help ? `\n\n${c.help}` : ''}`;
}

async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h') {
    process.stdout.write(`${overview()}\n`);
    return 0;
  }
  if (name === '--version' || name === '-v' || name === 'version') {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  if (name === 'help') {
    const c = COMMANDS.find((x) => x.name === rest[0]);
    process.stdout.write(`${c ? commandHelp(c) : overview()}\n`);
    return 0;
  }
  const cmd = COMMANDS.find((c) => c.name === name);
  if (!cmd) throw new UsageError(`unknown command "${name}"`);
  const { values, positionals } = parseCommandArgs(cmd, rest);
  if (values.help === true) {
    process.stdout.write(`${commandHelp(cmd)}\n`);
    return 0;
  }
  return (await cmd.run(values, positionals)) ?? 0;
}

main(process.argv.slice(2)).then(
  (code) => { if (code !== 0) process.exitCode = code; },
  (e: unknown) => {
    if (e instanceof UsageError) {
      process.stderr.write(`ascend-sidecar: ${e.message}\n\n${e.command ? `Usage: ${usageOf(e.command)}\n(ascend-sidecar ${e.command.name} --help for more)` : overview()}\n`);
      process.exitCode = 2;
      return;
    }
    process.stderr.write(`ascend-sidecar: ${e instanceof Error ? e.message : String(e)}\n`);
    if (process.env.ASCEND_DEBUG && e instanceof Error && e.stack) process.stderr.write(`${e.stack}\n`);
    process.exitCode = 1;
  },
);
