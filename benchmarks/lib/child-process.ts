/**
 * Runs a Node.js child process and measures its wall time and peak resident
 * set: a module preloaded through NODE_OPTIONS reads VmHWM from
 * /proc/self/status at exit (worker threads share the process, so they count).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const preload = [
  "import { readFileSync, writeFileSync } from 'node:fs';",
  "process.on('exit', () => {",
  "  const match = /^VmHWM:\\s+(\\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));",
  "  writeFileSync(process.env.MLCTL_BENCH_PEAK_RSS_FILE, String(match === null ? process.resourceUsage().maxRSS : Number(match[1])));",
  '});',
].join('\n');

/** What a child process printed, and how it ended. */
export interface ChildOutput {
  exitCode: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `node ...args` with CI=1 (no spinners) and `env` added to this process's environment. */
export function runNode(args: readonly string[], options: { cwd?: string; env?: Record<string, string> } = {}): Promise<ChildOutput> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: options.cwd, env: { ...process.env, CI: '1', ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.on('error', reject);
    child.on('close', (exitCode) => resolve({ exitCode, stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8') }));
  });
}

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Runs the built CLI (`bin/mlctl.js`) from the repository root, as a user would. */
export function runMlctl(args: readonly string[]): Promise<ChildOutput> {
  return runNode([path.join(repoRoot, 'bin/mlctl.js'), ...args], { cwd: repoRoot });
}

export interface ChildRun extends ChildOutput {
  wallMs: number;
  /** Peak resident set in bytes (VmHWM at exit). */
  peakRssBytes: number;
}

/** Runs `node ...args` with the peak-RSS preload. */
export async function runNodeChild(args: readonly string[], options: { cwd?: string } = {}): Promise<ChildRun> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mlctl-bench-rss-'));
  const report = path.join(dir, 'peak-rss-kb');
  try {
    const started = performance.now();
    const result = await runNode(args, {
      ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
      env: { NODE_OPTIONS: `--import=data:text/javascript,${encodeURIComponent(preload)}`, MLCTL_BENCH_PEAK_RSS_FILE: report },
    });
    const wallMs = performance.now() - started;
    const peakRssBytes = Number(await readFile(report, 'utf8').catch(() => '0')) * 1024;
    return { ...result, wallMs, peakRssBytes };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
