/**
 * The convert-steps option table and its checks, parsed through commander
 * exactly as `mlctl convert` parses them (a test command carries the table),
 * and the rendered report.
 */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { defineCommand } from '../../src/cli/command-definition.js';
import { convertStepOptions, planConvertSteps, planHasWork, renderConvertSteps, type ConvertStepsCliOptions, type ConvertStepsPlan } from '../../src/cli/commands/convert-steps.js';
import { createProgram } from '../../src/cli/program.js';
import { formatError } from '../../src/cli/report-error.js';
import { runConvertSteps } from '../../src/convert-runtime/run-steps.js';
import { loadModel } from '../../src/onnx/model-io.js';
import { ppOcrClsModel } from '../helpers/paths.js';

function sink(): Writable {
  return new Writable({ write: (_chunk, _encoding, done) => done() });
}

/** Parses `args` with the option table; returns the plan, or the error report (message lines and exit code). */
async function parse(args: string[]): Promise<{ plan?: ConvertStepsPlan; exitCode?: number; lines?: string[] }> {
  let plan: ConvertStepsPlan | undefined;
  const command = defineCommand<[string], ConvertStepsCliOptions>({
    name: 'convert',
    summary: 'test',
    arguments: [{ name: 'model', description: 'model' }],
    options: convertStepOptions,
    async run(_args, options) {
      plan = planConvertSteps(options);
    },
  });
  try {
    await createProgram({ commands: [command], stdout: sink(), stderr: sink() }).parseAsync(['node', 'mlctl', 'convert', 'm.onnx', ...args]);
    return { plan };
  } catch (error) {
    const report = formatError(error, { debug: false });
    return { exitCode: report.exitCode, lines: report.lines };
  }
}

describe('convert step options', () => {
  it('turns the options into steps, a data layout and provenance parameters', async () => {
    const { plan } = await parse([
      '--shape', 'x=1,3,224,224', '--shape', 'mask=1,224', '--simplify', '--simplify-skip', 'fuse-conv-bn,fold-constants', '--fold-limit', '1MB',
      '--fp16', '--keep-io-types', '--op-block-list', 'Softmax', '--op-block-list', 'LayerNormalization,Erf', '--node-block-list', 'head',
      '--optimize', 'basic', '--check', '3', '--min-cosine', '0.99', '--seed', '7', '--external-data', '--threshold', '4KiB',
    ]);
    expect(plan!.steps).toEqual({
      shapes: { x: [1, 3, 224, 224], mask: [1, 224] },
      simplify: { skip: ['fuse-conv-bn', 'fold-constants'], foldGrowthLimitBytes: 1048576 },
      fp16: { keepIoTypes: true, defaultBlockList: true, opBlockList: ['Softmax', 'LayerNormalization', 'Erf'], nodeBlockList: ['head'] },
      optimize: 'basic',
      check: 3,
      minCosine: 0.99,
      seed: 7,
    });
    expect(plan!.data).toEqual({ mode: 'external', thresholdBytes: 4096 });
    expect(Object.keys(plan!.parameters)).toEqual(['shape', 'simplify', 'fp16', 'optimize', 'check', 'externalData']);
  });

  it('has no work without options, and work with only a data layout', async () => {
    expect(planHasWork((await parse([])).plan!)).toBe(false);
    expect((await parse([])).plan!.data).toEqual({ mode: 'keep' });
    expect(planHasWork((await parse(['--inline-data'])).plan!)).toBe(true);
    expect((await parse(['--fp16', '--no-verify', '--no-default-block-list'])).plan!.steps).toEqual({ fp16: { keepIoTypes: false, defaultBlockList: false }, verify: false });
  });

  it.each([
    [['--keep-io-types'], '--keep-io-types needs --fp16'],
    [['--op-block-list', 'Softmax'], '--op-block-list needs --fp16'],
    [['--no-verify'], '--no-verify needs --shape, --simplify or --fp16'],
    [['--simplify-skip', 'dead-code'], '--simplify-skip needs --simplify'],
    [['--threshold', '1KB'], '--threshold needs --external-data'],
    [['--external-data', '--inline-data'], '--external-data and --inline-data contradict each other; pass one of them'],
    [['--simplify', '--min-cosine', '0.9'], '--min-cosine needs a comparison: --check <n>, or --fp16 with verification'],
    [['--fp16', '--no-verify', '--seed', '1'], '--seed needs a comparison: --check <n>, or --fp16 with verification'],
    [['--shape', 'x=1,a'], "--shape 'x=1,a' is not name=dims; expected e.g. --shape input=1,3,224,224"],
    [['--shape', 'x=1', '--shape', 'x=2'], "--shape gives input 'x' twice; give each input once"],
    [['--simplify', '--simplify-skip', 'nope'], "--simplify-skip 'nope' is not a simplify rewrite; expected some of lift-constants, remove-identity, remove-dropout, dead-code, dedupe-initializers, fold-constants, inline-if, fuse-conv-bn, fuse-matmul-add"],
    [['--check', '0'], "--check '0' is not a positive integer"],
    [['--external-data', '--threshold', 'big'], "--threshold 'big' is not a size; expected a number of bytes with an optional unit, e.g. 1024, 1KB or 4MiB"],
    [['--fp16', '--min-cosine', '2'], "--min-cosine '2' is not a number between -1 and 1"],
    [['--optimize', 'max'], "option '--optimize <level>' argument 'max' is invalid. Allowed choices are basic, extended, all."],
  ])('refuses %j with exit 2', async (args, message) => {
    const result = await parse(args);
    expect(result.exitCode).toBe(2);
    expect(result.lines?.[0]).toBe(`mlctl: error: ${message}`);
  });

  it('renders the simplify table, the float16 summary and the check', { timeout: 30_000 }, async () => {
    const loaded = await loadModel(ppOcrClsModel);
    const { plan } = await parse(['--simplify', '--fp16', '--check', '2']);
    const outcome = await runConvertSteps({ loaded, model: loaded.model }, plan!.steps);
    const { text, warnings } = await renderConvertSteps(outcome);
    expect(warnings).toEqual([]);
    expect(text).toMatch(/│ Simplify\s+│ before\s+│ after\s+│/);
    expect(text).toMatch(/│ Constant\s+│ 250\s+│ 0\s+│/);
    expect(text).toMatch(/│ BatchNormalization\s+│ 35\s+│ 0\s+│/);
    expect(text).toMatch(/│ Nodes\s+│ 471\s+│ 184 \(−60\.9%\)\s+│/);
    expect(text).toContain('35 BatchNormalization folded into Conv');
    expect(text).toMatch(/│ Tensors converted\s+│ \d+ \(/);
    expect(text).toMatch(/Check: 2 random input set\(s\) \(x \[1, 3, 64, 64\]\): passed/);
    expect(text).toMatch(/│ softmax_0\.tmp_0\s+│ 0\.99\d+\s+│/);
  });
});
