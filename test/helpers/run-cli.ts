/**
 * Runs the built CLI (`node bin/mlctl.js …`) in a child process, exactly as a
 * user would, and collects its exit code and output. Needs `npm run build`
 * first (`npm test` does it in `pretest`).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { cliEntry, repoRoot } from './paths.js';

/** What one CLI run produced. */
export interface CliResult {
  /** The exit code; null when killed by a signal. */
  exitCode: number | null;
  stdout: string;
  stderr: string;
}

/** Options of {@link runCli}. */
export interface RunCliOptions {
  /** Working directory; defaults to the repository root. */
  cwd?: string;
  /** Extra environment variables. */
  env?: Record<string, string>;
  /** Kill the child after this many milliseconds (default 30 000). */
  timeoutMs?: number;
}

/** Throws a readable error when the CLI has not been built yet. */
export function assertCliBuilt(): void {
  const main = path.join(repoRoot, 'dist/cli/main.js');
  if (!existsSync(main)) {
    throw new Error(`${main} does not exist: run 'npm run build' before these tests (npm test does it for you)`);
  }
}

/** Runs `node bin/mlctl.js ...args` and resolves when it exits. */
export function runCli(args: readonly string[], options: RunCliOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliEntry, ...args], {
      cwd: options.cwd ?? repoRoot,
      // CI is set so a spinner never draws, even if a terminal leaks through.
      env: { ...process.env, CI: '1', NO_COLOR: '1', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: options.timeoutMs ?? 30_000,
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.on('error', reject);
    child.on('close', (exitCode) => {
      resolve({
        exitCode,
        stdout: Buffer.concat(stdout).toString('utf8'),
        stderr: Buffer.concat(stderr).toString('utf8'),
      });
    });
  });
}
