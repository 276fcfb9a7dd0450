/**
 * Builds the commander program from the command table. Parsing never exits
 * the process: commander throws instead (`exitOverride`), and the entry point
 * hands whatever was thrown to the error boundary.
 */
import { Argument, Command, Option } from 'commander';
import type { CommandIo, RegisteredCommand } from './command-definition.js';
import { commands as defaultCommands } from './commands/index.js';
import { packageVersion } from './model-output.js';

/** Options of {@link createProgram}; all optional, for tests. */
export interface ProgramOptions extends Partial<CommandIo> {
  /** The commands to register; defaults to all of mlctl's commands. */
  commands?: readonly RegisteredCommand[];
}

/**
 * Creates the `mlctl` program: global options `--version` and `--debug`, and
 * one subcommand per entry of the command table. Nothing runs until
 * `parseAsync` is called; help, version and usage errors surface as thrown
 * `CommanderError`s (help and version with `exitCode` 0), not as process exits.
 */
export function createProgram(options: ProgramOptions = {}): Command {
  const io: CommandIo = { stdout: options.stdout ?? process.stdout, stderr: options.stderr ?? process.stderr };

  const program = new Command('mlctl')
    .description('A command-line model toolchain for ONNX.')
    .version(packageVersion(), '-V, --version', 'print the mlctl version')
    .option('--debug', 'print stack traces with errors')
    .helpOption('-h, --help', 'show help')
    // Subcommands copy these settings when created, so set them first.
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
      // The error boundary (report-error.ts) prints usage errors in mlctl's own format.
      outputError: () => undefined,
    });

  for (const definition of options.commands ?? defaultCommands) {
    addCommand(program, definition, io);
  }
  return program;
}

/** Whether the global `--debug` option was given (false before parsing). */
export function isDebugEnabled(program: Command): boolean {
  return program.opts()['debug'] === true;
}

function addCommand(program: Command, definition: RegisteredCommand, io: CommandIo): void {
  const command = program
    .command(definition.name)
    .summary(definition.summary)
    .description(definition.description ?? definition.summary);

  for (const argument of definition.arguments) {
    const required = argument.required ?? true;
    const name = `${argument.name}${argument.variadic === true ? '...' : ''}`;
    command.addArgument(new Argument(required ? `<${name}>` : `[${name}]`, argument.description));
  }

  for (const spec of definition.options) {
    const option = new Option(spec.flags, spec.description);
    if (spec.defaultValue !== undefined) option.default(spec.defaultValue);
    if (spec.choices !== undefined) option.choices(spec.choices);
    if (spec.parse !== undefined) option.argParser(spec.parse);
    command.addOption(option);
  }

  if (definition.examples !== undefined && definition.examples.length > 0) {
    command.addHelpText('after', `\nExamples:\n${definition.examples.map((line) => `  $ ${line}`).join('\n')}\n`);
  }

  command.action(async (...params: unknown[]) => {
    // Commander passes the operands, the options, then the command itself.
    const self = params[params.length - 1] as Command;
    await definition.run(self.processedArgs, self.opts(), { ...io, debug: isDebugEnabled(program) });
  });
}
