/**
 * The one error boundary of the CLI: maps anything a command threw to the
 * lines printed on stderr and to the process exit code.
 */
import { CommanderError } from 'commander';
import { ExitCode, MlctlError, describeError } from '../common/errors.js';

/** Prefix of every error line, so scripts can grep for it. */
export const errorPrefix = 'mlctl: error: ';
/** Prefix of the optional second line that says how to fix the error. */
export const hintPrefix = 'mlctl: hint: ';

/** What the boundary decided for one error. */
export interface ErrorReport {
  /** Exit code for the process. */
  exitCode: ExitCode;
  /** Lines for stderr, without trailing newlines; empty when nothing is printed (e.g. after `--help`). */
  lines: string[];
}

/** Options of {@link formatError} and {@link reportError}. */
export interface ReportErrorOptions {
  /** Append the stack trace (and those of wrapped causes); set by the global `--debug` option. */
  debug: boolean;
}

/** Where {@link reportError} writes. */
export interface ErrorSink {
  write(text: string): unknown;
}

/**
 * Decides the message lines and exit code for a thrown value, without writing anything.
 *
 * - {@link MlctlError}: its message, its hint, its `exitCode`;
 * - commander's usage errors (unknown option, missing argument, …): exit code 2;
 *   commander's help and version "errors" are successes and print nothing more;
 * - anything else is a bug: exit code 4 with `internal error` wording.
 *
 * The stack trace is included only with `options.debug`.
 */
export function formatError(error: unknown, options: ReportErrorOptions): ErrorReport {
  if (error instanceof CommanderError) return formatCommanderError(error);

  if (error instanceof MlctlError) {
    const lines = [errorPrefix + oneLine(error.message)];
    if (error.hint !== undefined && error.hint !== '') lines.push(hintPrefix + oneLine(error.hint));
    if (options.debug) lines.push(...stackLines(error));
    return { exitCode: error.exitCode, lines };
  }

  const lines = [
    `${errorPrefix}internal error: ${oneLine(describeError(error))}`,
    options.debug
      ? `${hintPrefix}this is a bug in mlctl; please report it with the stack trace below`
      : `${hintPrefix}this is a bug in mlctl; rerun with --debug and report the stack trace`,
  ];
  if (options.debug) lines.push(...stackLines(error));
  return { exitCode: ExitCode.runtime, lines };
}

/**
 * Writes the report of `error` to `stderr` and returns the exit code the
 * entry point should set. Never throws.
 */
export function reportError(error: unknown, options: ReportErrorOptions & { stderr: ErrorSink }): ExitCode {
  const report = formatError(error, options);
  if (report.lines.length > 0) options.stderr.write(report.lines.join('\n') + '\n');
  return report.exitCode;
}

function formatCommanderError(error: CommanderError): ErrorReport {
  // Help and version output were already written by commander.
  if (error.exitCode === 0) return { exitCode: ExitCode.ok, lines: [] };
  // `mlctl` without a command: commander printed the help to stderr.
  if (error.code === 'commander.help') return { exitCode: ExitCode.usage, lines: [] };

  // Commander's messages read "error: unknown option '--x'\n(Did you mean --y?)".
  const [first = '', ...rest] = error.message.split('\n');
  const message = first.replace(/^error:\s*/, '');
  const suggestion = rest.join(' ').trim().replace(/^\((.*)\)$/, '$1');
  const hint = suggestion !== '' ? suggestion : "run 'mlctl --help' to see the commands and their options";
  return { exitCode: ExitCode.usage, lines: [errorPrefix + oneLine(message), hintPrefix + oneLine(hint)] };
}

/** The promise of the error format is one line per message, whatever the thrower wrote. */
function oneLine(text: string): string {
  return text.replace(/\s*[\r\n]+\s*/g, ' ').trim();
}

function stackLines(error: unknown): string[] {
  const lines: string[] = [];
  const seen = new Set<unknown>();
  let current: unknown = error;
  let prefix = '';
  while (current !== undefined && current !== null && !seen.has(current)) {
    seen.add(current);
    const text = current instanceof Error ? current.stack ?? `${current.name}: ${current.message}` : String(current);
    lines.push(...(prefix + text).split('\n'));
    current = current instanceof Error ? current.cause : undefined;
    prefix = 'Caused by: ';
  }
  return lines;
}
