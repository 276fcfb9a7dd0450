import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { CommanderError } from 'commander';
import { describe, expect, it } from 'vitest';
import { defineCommand, type OutputStream } from '../../src/cli/command-definition.js';
import { commands } from '../../src/cli/commands/index.js';
import { createProgram, isDebugEnabled, type ProgramOptions } from '../../src/cli/program.js';
import { formatError } from '../../src/cli/report-error.js';
import { repoRoot } from '../helpers/paths.js';

/** A stream that keeps what is written to it. */
class CapturedStream extends Writable {
  text = '';
  override _write(chunk: Buffer | string, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    this.text += chunk.toString();
    done();
  }
}

function setup(options: Omit<ProgramOptions, 'stdout' | 'stderr'> = {}) {
  const stdout = new CapturedStream();
  const stderr = new CapturedStream();
  const program = createProgram({ ...options, stdout: stdout as OutputStream, stderr: stderr as OutputStream });
  /** Parses user arguments; resolves to the thrown value, or undefined when nothing was thrown. */
  const parse = async (args: string[]): Promise<unknown> => {
    try {
      await program.parseAsync(args, { from: 'user' });
      return undefined;
    } catch (error) {
      return error;
    }
  };
  return { program, stdout, stderr, parse };
}

const packageVersion = (JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;

describe('createProgram', () => {
  it('lists every command in --help on stdout and exits 0', { timeout: 10_000 }, async () => {
    const { stdout, stderr, parse } = setup();
    const error = await parse(['--help']);
    expect(error).toBeInstanceOf(CommanderError);
    expect(formatError(error, { debug: false })).toEqual({ exitCode: 0, lines: [] });
    expect(stdout.text).toMatch(/^Usage: mlctl \[options\] \[command\]/);
    expect(stdout.text).toContain('--debug');
    expect(stdout.text).toContain('--version');
    expect(commands.length).toBeGreaterThan(0);
    for (const command of commands) expect(stdout.text).toMatch(new RegExp(`^  ${command.name}\\b`, 'm'));
    expect(stdout.text).toMatch(/^ {2}inspect \[options\] <model>/m);
    expect(stderr.text).toBe('');
  });

  it('prints the package version for --version and -V', { timeout: 10_000 }, async () => {
    for (const flag of ['--version', '-V']) {
      const { stdout, parse } = setup();
      const error = await parse([flag]);
      expect(formatError(error, { debug: false }).exitCode).toBe(0);
      expect(stdout.text).toBe(`${packageVersion}\n`);
    }
  });

  it('shows the command help with examples for inspect --help', { timeout: 10_000 }, async () => {
    const { stdout, parse } = setup();
    const error = await parse(['inspect', '--help']);
    expect(formatError(error, { debug: false }).exitCode).toBe(0);
    expect(stdout.text).toContain('Usage: mlctl inspect [options] <model>');
    expect(stdout.text).toContain('--json');
    expect(stdout.text).toContain('$ mlctl inspect model.onnx');
  });

  it.each([
    { args: ['--bogus'], message: "unknown option '--bogus'", hint: "run 'mlctl --help' to see the commands and their options" },
    { args: ['inspect', 'model.onnx', '--jsn'], message: "unknown option '--jsn'", hint: 'Did you mean --json?' },
    { args: ['inspect'], message: "missing required argument 'model'", hint: "run 'mlctl --help' to see the commands and their options" },
    { args: ['inspect', 'a.onnx', 'b.onnx'], message: /^too many arguments for 'inspect'/, hint: undefined },
    { args: ['frobnicate'], message: "unknown command 'frobnicate'", hint: undefined },
  ])('maps usage error $args to exit code 2 without running anything', { timeout: 10_000 }, async ({ args, message, hint }) => {
    const { stdout, stderr, parse } = setup();
    const error = await parse(args);
    expect(error).toBeInstanceOf(CommanderError);
    const report = formatError(error, { debug: false });
    expect(report.exitCode).toBe(2);
    expect(report.lines).toHaveLength(2);
    const [errorLine = '', hintLine = ''] = report.lines;
    expect(errorLine.startsWith('mlctl: error: ')).toBe(true);
    if (typeof message === 'string') expect(errorLine).toBe(`mlctl: error: ${message}`);
    else expect(errorLine.slice('mlctl: error: '.length)).toMatch(message);
    expect(hintLine.startsWith('mlctl: hint: ')).toBe(true);
    if (hint !== undefined) expect(hintLine).toBe(`mlctl: hint: ${hint}`);
    // The boundary prints errors, not commander.
    expect(stderr.text).toBe('');
    expect(stdout.text).toBe('');
  });

  it('prints help on stderr and exits 2 when no command is given', { timeout: 10_000 }, async () => {
    const { stdout, stderr, parse } = setup();
    const error = await parse([]);
    expect(formatError(error, { debug: false })).toEqual({ exitCode: 2, lines: [] });
    expect(stderr.text).toContain('Usage: mlctl');
    expect(stdout.text).toBe('');
  });

  it('hands typed operands and options from the tables to the action', { timeout: 10_000 }, async () => {
    const calls: { args: readonly unknown[]; options: object; debug: boolean }[] = [];
    const probe = defineCommand<[source: string, targets: string[]], { level: number; dryRun?: boolean }>({
      name: 'probe',
      summary: 'test command',
      arguments: [
        { name: 'source', description: 'one' },
        { name: 'targets', description: 'many', variadic: true },
      ],
      options: [
        { flags: '--level <n>', description: 'a number', defaultValue: 1, parse: (value) => Number(value) },
        { flags: '--dry-run', description: 'a flag' },
      ],
      run(args, options, context) {
        calls.push({ args, options, debug: context.debug });
        return Promise.resolve();
      },
    });
    const { program, parse } = setup({ commands: [probe] });
    expect(await parse(['probe', 'a', 'b', 'c', '--level', '3', '--dry-run', '--debug'])).toBeUndefined();
    expect(calls).toEqual([{ args: ['a', ['b', 'c']], options: { level: 3, dryRun: true }, debug: true }]);
    expect(isDebugEnabled(program)).toBe(true);

    const second = setup({ commands: [probe] });
    expect(await second.parse(['probe', 'x', 'y'])).toBeUndefined();
    expect(calls[1]).toEqual({ args: ['x', ['y']], options: { level: 1 }, debug: false });
    expect(isDebugEnabled(second.program)).toBe(false);
  });

  it('lets errors thrown by an action reach the caller', { timeout: 10_000 }, async () => {
    const failing = defineCommand<[], object>({
      name: 'fail',
      summary: 'always fails',
      arguments: [],
      options: [],
      run: () => Promise.reject(new Error('boom')),
    });
    const { parse } = setup({ commands: [failing] });
    const error = await parse(['fail']);
    expect(error).toBeInstanceOf(Error);
    expect(formatError(error, { debug: false }).exitCode).toBe(4);
  });
});
