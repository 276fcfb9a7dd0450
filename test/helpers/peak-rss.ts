/**
 * Runs the built CLI like {@link runCli} and also reports the child's peak
 * resident set size: a preloaded module reads VmHWM from /proc/self/status
 * when the process exits (threads share the process, so worker threads count).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { runCli, type CliResult, type RunCliOptions } from './run-cli.js';

const preload = [
  "import { readFileSync, writeFileSync } from 'node:fs';",
  "process.on('exit', () => {",
  "  const match = /^VmHWM:\\s+(\\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));",
  "  writeFileSync(process.env.MLCTL_TEST_PEAK_RSS_FILE, String(match === null ? process.resourceUsage().maxRSS : Number(match[1])));",
  '});',
].join('\n');

/** Whether peak RSS can be measured here (Linux's /proc). */
export const canMeasurePeakRss = process.platform === 'linux';

/** {@link runCli}, plus the child's peak resident set in bytes. */
export async function runCliWithPeakRss(args: readonly string[], options: RunCliOptions = {}): Promise<CliResult & { peakRssBytes: number }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mlctl-peak-rss-'));
  try {
    const report = path.join(dir, 'peak-rss-kb');
    const result = await runCli(args, {
      ...options,
      env: { ...options.env, NODE_OPTIONS: `--import=data:text/javascript,${encodeURIComponent(preload)}`, MLCTL_TEST_PEAK_RSS_FILE: report },
    });
    return { ...result, peakRssBytes: Number(await readFile(report, 'utf8')) * 1024 };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
