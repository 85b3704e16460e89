/**
 * One CLI command: its name, what it does, its usage and flags (node:util parseArgs, strict:
 * an unknown flag is a usage error), and what it runs. The entry (src/cli.ts) dispatches, prints
 * help and turns a {@link UsageError} into the command's usage and exit 2 — never a stack trace.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

export type Options = NonNullable<ParseArgsConfig['options']>;
export type Values = Record<string, string | boolean | undefined>;

export interface Command {
  readonly name: string;
  /** One line, for the command list. */
  readonly summary: string;
  /** The flags after the name, as the usage line shows them. */
  readonly usage: string;
  /** A few lines more for `<command> --help`. */
  readonly help?: string;
  readonly options: Options;
  /** Takes positional arguments (file names). */
  readonly positionals?: boolean;
  /** Runs the command; resolves to the exit code (0 when undefined). */
  run(values: Values, positionals: readonly string[]): Promise<number | void>;
}

/** A mistake in how the command was called: answered with the usage and exit 2. */
export class UsageError extends Error {
  constructor(message: string, readonly command?: Command) {
    super(message);
    this.name = 'UsageError';
  }
}

/** `--help` is every command's; the rest are the command's own. */
export function parseCommandArgs(cmd: Command, args: readonly string[]): { values: Values; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({
      args: [...args],
      options: { ...cmd.options, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: cmd.positionals === true,
    });
    return { values: values as Values, positionals };
  } catch (e) {
    // parseArgs' messages name the flag ("Unknown option '--foo'"); its stack says nothing more.
    throw new UsageError((e as Error).message.split('\n')[0] ?? 'bad arguments', cmd);
  }
}

/** The value of a flag that is required. */
export function required(values: Values, flag: string, cmd: Command): string {
  const v = values[flag];
  if (typeof v !== 'string' || v === '') throw new UsageError(`--${flag} ${flag === 'config' ? 'FILE ' : ''}is required`, cmd);
  return v;
}

/** A port from a flag or a variable: an integer 0–65535 (0 picks a free one). */
export function parsePort(v: string | undefined, from: string, cmd?: Command): number | undefined {
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!/^\d+$/.test(v) || n > 65535) throw new UsageError(`${from} must be an integer from 0 to 65535, got "${v}"`, cmd);
  return n;
}
