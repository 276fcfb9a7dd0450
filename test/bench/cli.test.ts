/**
 * End-to-end tests of `mlctl bench`: the built CLI runs in a child process,
 * as a user or a CI job runs it, for each output format and exit code.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BenchReport } from '../../src/bench/report-types.js';
import { providerUnavailability } from '../../src/bench/run-bench.js';
import { CUDA_INSTALL_COMMAND } from '../../src/runtime/onnxruntime.js';
import { repoRoot } from '../helpers/paths.js';
import { assertCliBuilt, runCli } from '../helpers/run-cli.js';

const mlp = path.join(repoRoot, 'fixtures/models/mlp.onnx');
const convNet = path.join(repoRoot, 'fixtures/models/conv-net.onnx');
/** Few runs: each invocation takes a fraction of a second. */
const quick = ['--iterations', '20', '--warmup', '2'];
const cudaMissing = providerUnavailability('cuda') !== null;

let dir = '';
beforeAll(async () => {
  assertCliBuilt();
  dir = await mkdtemp(path.join(os.tmpdir(), 'mlctl-bench-cli-'));
});
afterAll(async () => {
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

describe('mlctl bench (end to end)', { timeout: 30_000 }, () => {
  it('prints the tables and exits 0', async () => {
    const result = await runCli(['bench', mlp, ...quick]);
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/^mlctl bench: mlctl \d+\.\d+\.\d+, onnxruntime-node /);
    expect(result.stdout).toContain('Latency (steady state)');
    expect(result.stdout).toMatch(/│ mlp\.onnx cpu +│ 20 +│/);
    expect(result.stdout).toContain('Throughput and phases');
    // 20 samples cannot support p99: it is marked and explained.
    expect(result.stdout).toContain('* too few samples for this percentile');
  });

  it('prints only the JSON report on stdout with --json', async () => {
    const result = await runCli(['bench', mlp, ...quick, '--json']);
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    const report = JSON.parse(result.stdout) as BenchReport;
    expect(report).toMatchObject({ schema: 'mlctl-bench', schemaVersion: 1, verdict: 'pass' });
    expect(report.settings).toMatchObject({ iterations: 20, warmup: 2, executionProviders: ['cpu'] });
    expect(report.rows[0]?.status === 'measured' && report.rows[0].samplesMs.length).toBe(20);
  });

  it('writes JSON, Markdown, JUnit and HTML reports, and refuses to overwrite them without --force', async () => {
    const files = { json: path.join(dir, 'r.json'), markdown: path.join(dir, 'r.md'), junit: path.join(dir, 'r.xml'), html: path.join(dir, 'r.html') };
    const args = ['bench', mlp, ...quick, '--assert', 'p50<10s', '--json', files.json, '--markdown', files.markdown, '--junit', files.junit, '--html', files.html];
    const result = await runCli(args);
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain('Gates: PASS');
    expect((JSON.parse(await readFile(files.json, 'utf8')) as BenchReport).gates).toHaveLength(1);
    expect(await readFile(files.markdown, 'utf8')).toMatch(/^## mlctl bench\n\n\*\*Verdict: ✅ PASS\*\*/);
    const junit = await readFile(files.junit, 'utf8');
    expect(junit).toContain('tests="1" failures="0"');
    expect(junit).toContain('name="p50&lt;10s"');
    const html = await readFile(files.html, 'utf8');
    expect(html).toContain('<svg ');
    expect(html).not.toMatch(/<script|<link/);

    const again = await runCli(args);
    expect(again.exitCode).toBe(2);
    expect(again.stdout).toBe('');
    expect(again.stderr).toBe(`mlctl: error: '${files.json}' already exists\nmlctl: hint: pass --force to overwrite it\n`);
    const forced = await runCli([...args, '--force']);
    expect(forced.exitCode).toBe(0);
    // Atomic writes leave no temporary files behind.
    expect((await readdir(dir)).sort()).toEqual(['r.html', 'r.json', 'r.md', 'r.xml']);
  });

  it('exits 1 when an assertion fails, still writing the reports', async () => {
    const junit = path.join(dir, 'failed.xml');
    const result = await runCli(['bench', mlp, ...quick, '--assert', 'p50<1ns', '--junit', junit]);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/^mlctl: error: 1 of 1 gates failed: p50<1ns on mlp\.onnx cpu \(p50 = .+, not < 1\.00 ns\)\n$/);
    expect(result.stdout).toContain('Gates: FAIL');
    expect(await readFile(junit, 'utf8')).toContain('failures="1"');
  });

  it('warns and exits 0 on an inconclusive gate, and exits 1 with --strict', async () => {
    // 20 samples cannot support p99, and their maximum does not prove p99 < 1 ns.
    const lenient = await runCli(['bench', mlp, ...quick, '--assert', 'p99<1ns']);
    expect(lenient.exitCode).toBe(0);
    expect(lenient.stderr).toMatch(/^mlctl: warning: inconclusive: p99<1ns on mlp\.onnx cpu \(20 samples cannot support p99 \(it needs 100\)/);
    const strict = await runCli(['bench', mlp, ...quick, '--assert', 'p99<1ns', '--strict']);
    expect(strict.exitCode).toBe(1);
    expect(strict.stderr).toMatch(/^mlctl: error: 1 of 1 gates were inconclusive \(--strict fails on them\)/);
    expect(strict.stderr).toContain('mlctl: hint: take more samples');
  });

  it('runs --vs interleaved and fails a much slower candidate at 10%', async () => {
    const result = await runCli(['bench', convNet, '--vs', mlp, '--max-regression', '10%', '--iterations', '40', '--warmup', '2', '--json']);
    expect(result.exitCode).toBe(1);
    const report = JSON.parse(result.stdout) as BenchReport;
    expect(report.comparisons[0]).toMatchObject({ kind: 'vs', paired: true, verdict: 'fail' });
    expect(report.comparisons[0]!.interval.low).toBeGreaterThan(1.1);
    expect(result.stderr).toMatch(/^mlctl: error: 1 of 1 gates failed: p50 vs mlp\.onnx ≤ \+10\.0% on conv-net\.onnx cpu threads 1 \(the 95% interval/);
  });

  it('compares with a saved --baseline report', async () => {
    const saved = path.join(dir, 'base.json');
    expect((await runCli(['bench', mlp, ...quick, '--json', saved])).exitCode).toBe(0);
    const result = await runCli(['bench', mlp, ...quick, '--baseline', saved, '--max-regression', '1000%', '--json']);
    expect(result.exitCode).toBe(0);
    const report = JSON.parse(result.stdout) as BenchReport;
    expect(report.comparisons[0]).toMatchObject({ kind: 'baseline', baselineReport: saved, paired: false });
  });

  it.each([
    [['--assert', 'p95<20'], "mlctl: error: --assert 'p95<20' needs a time unit after 20 (ns, us, ms or s)\n"],
    [['--ep', 'gpu'], "mlctl: error: --ep 'gpu' is not an execution provider mlctl knows; expected cpu, cuda, tensorrt, webgpu, dml, coreml\n"],
    [['--duration', '10'], "mlctl: error: --duration '10' is not a duration; expected a number with a unit, e.g. 10s, 500ms, 2m\n"],
  ])('exits 2 on a usage error (%j)', async (extra, stderr) => {
    const result = await runCli(['bench', mlp, ...extra]);
    expect(result.exitCode).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(stderr);
  });

  it('exits 2 on an unknown option and without a model', async () => {
    const unknown = await runCli(['bench', mlp, '--iteration', '5']);
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toMatch(/^mlctl: error: unknown option '--iteration'\nmlctl: hint: Did you mean --iterations\?/);
    expect((await runCli(['bench'])).exitCode).toBe(2);
  });

  it('exits 3 for a missing model and for a file that is not ONNX', async () => {
    const missing = await runCli(['bench', path.join(dir, 'nope.onnx'), ...quick]);
    expect(missing.exitCode).toBe(3);
    expect(missing.stderr).toBe(`mlctl: error: cannot read '${path.join(dir, 'nope.onnx')}': no such file\n`);
    const jpeg = path.join(repoRoot, 'fixtures/bad/jpeg-renamed.onnx');
    const notOnnx = await runCli(['bench', jpeg, ...quick]);
    expect(notOnnx.exitCode).toBe(3);
    expect(notOnnx.stderr).toBe(`mlctl: error: '${jpeg}' is a JPEG image, not an ONNX model\n`);
  });

  it('exits 3 for real inputs that do not fit the model', async () => {
    const inputs = path.join(dir, 'inputs');
    await mkdir(inputs, { recursive: true });
    await writeFile(path.join(inputs, 'x.json'), '{"dims": [1, 3], "data": [1, 2, 3]}');
    const result = await runCli(['bench', mlp, ...quick, '--inputs', inputs]);
    expect(result.exitCode).toBe(3);
    expect(result.stderr).toBe(`mlctl: error: input file '${path.join(inputs, 'x.json')}' has shape [1, 3], but input 'x' takes [batch, 64]\n`);
  });

  it.skipIf(!cudaMissing)('exits 4 with the install command when CUDA is missing, or skips it with --skip-unavailable', async () => {
    const missing = await runCli(['bench', mlp, ...quick, '--ep', 'cpu,cuda']);
    expect(missing.exitCode).toBe(4);
    expect(missing.stdout).toBe('');
    const [error, hint] = missing.stderr.split('\n');
    expect(error).toMatch(/^mlctl: error: cannot benchmark on execution provider 'cuda': /);
    expect(error).toContain(CUDA_INSTALL_COMMAND);
    expect(hint).toBe(`mlctl: hint: run \`${CUDA_INSTALL_COMMAND}\` (needs CUDA 12 and cuDNN 9), or pass --skip-unavailable to skip it`);

    const skipped = await runCli(['bench', mlp, ...quick, '--ep', 'cpu,cuda', '--skip-unavailable']);
    expect(skipped.exitCode).toBe(0);
    expect(skipped.stdout).toContain('cuda (skipped)');
    expect(skipped.stdout).toMatch(/note: skipped execution provider 'cuda': /);
  });

  it('lists bench in mlctl --help with its options', async () => {
    const help = await runCli(['bench', '--help']);
    expect(help.exitCode).toBe(0);
    for (const flag of ['--ep', '--batch', '--threads', '--warmup', '--duration', '--assert', '--vs', '--max-regression', '--json [path]', '--html']) {
      expect(help.stdout).toContain(flag);
    }
    expect((await stat(path.join(repoRoot, 'dist/cli/commands/bench.js'))).isFile()).toBe(true);
  });
});
