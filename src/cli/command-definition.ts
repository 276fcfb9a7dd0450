/**
 * The declarative shape of one mlctl command: an argument and option table
 * plus one action. `program.ts` turns a list of these into commander commands.
 *
 * A command module must stay cheap to import (no model layer, no runtime, no
 * rendering libraries at the top level): import heavy modules inside `run`,
 * so that `mlctl --help` stays instant.
 */
import type { OptionValues } from 'commander';

/** A writable stream the CLI prints to (process.stdout / process.stderr, or a test double). */
export type OutputStream = NodeJS.WritableStream & { isTTY?: boolean; columns?: number };

/** The streams a command writes to. */
export interface CommandIo {
  /** Results (tables, JSON): the only thing a script should parse. */
  stdout: OutputStream;
  /** Progress and diagnostics. */
  stderr: OutputStream;
}

/** What an action gets besides its arguments and options. */
export interface CommandContext extends CommandIo {
  /** The global `--debug` option. */
  debug: boolean;
}

/** One positional argument. */
export interface ArgumentDefinition {
  /** Name shown in help, e.g. `model`. */
  name: string;
  description: string;
  /** Defaults to true. */
  required?: boolean;
  /** Takes all remaining operands as a `string[]`. */
  variadic?: boolean;
}

/** One option, in commander's flag syntax (`-o, --output <path>`, `--json`, `--no-color`). */
export interface OptionDefinition {
  flags: string;
  description: string;
  defaultValue?: string | boolean | number | string[];
  /** Allowed values; commander rejects others as a usage error. */
  choices?: readonly string[];
  /**
   * Converts the raw string (e.g. to a number). Throw a `UsageError` with the
   * offending value quoted to reject it.
   */
  parse?: (value: string, previous: unknown) => unknown;
}

/**
 * A command with typed arguments and options.
 *
 * @typeParam TArgs - the operands in declaration order (`string` or `string[]` for variadic ones).
 * @typeParam TOptions - the parsed options, keyed by commander's camelCase names.
 */
export interface CommandDefinition<TArgs extends readonly unknown[], TOptions extends object> {
  name: string;
  /** One line for `mlctl --help`. */
  summary: string;
  /** Longer text for `mlctl <command> --help`; defaults to the summary. */
  description?: string;
  arguments: readonly ArgumentDefinition[];
  options: readonly OptionDefinition[];
  /** Example invocations shown at the end of the command's help. */
  examples?: readonly string[];
  /** The action: parse nothing more, call a service, print. Throws `MlctlError`s for the user's mistakes. */
  run(args: TArgs, options: TOptions, context: CommandContext): Promise<void>;
}

/** A command with its types erased, as the program registers it. */
export type RegisteredCommand = CommandDefinition<readonly unknown[], OptionValues>;

/**
 * Declares a command. The casts below are sound because commander builds the
 * operands and options from the same tables the definition declares.
 */
export function defineCommand<TArgs extends readonly unknown[], TOptions extends object>(
  definition: CommandDefinition<TArgs, TOptions>,
): RegisteredCommand {
  return {
    ...definition,
    run: (args, options, context) => definition.run(args as TArgs, options as TOptions, context),
  };
}
