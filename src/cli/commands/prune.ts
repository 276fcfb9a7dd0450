/**
 * `mlctl prune <in.onnx> -o <out.onnx> --sparsity <fraction> [options]`:
 * magnitude (unstructured) or channel (structured) pruning, checked in
 * onnxruntime.
 */
import { UsageError } from '../../common/errors.js';
import { collectShape, parseCosine, parseExclude, parseOpTypeList } from '../option-parsers.js';
import { defineCommand } from '../command-definition.js';

/** Operator types `--op-types` accepts (the pass's list; repeated here so that --help needs no heavy import). */
const opTypeChoices = ['Conv', 'ConvTranspose', 'MatMul', 'Gemm'] as const;
type OpTypeChoice = (typeof opTypeChoices)[number];

/** Options of `mlctl prune`, as commander parses them. */
export interface PruneCommandOptions {
  output?: string;
  sparsity: number;
  method: 'magnitude' | 'channels';
  scope: 'layer' | 'global';
  norm: 'l1' | 'l2';
  roundTo: number | string;
  opTypes?: OpTypeChoice[];
  exclude: (string | RegExp)[];
  minElements: number | string;
  sparseStorage?: boolean;
  json?: boolean;
  verify: boolean;
  samples: number | string;
  minCosine?: number;
  shape?: Record<string, number[]>;
  seed: number | string;
  force?: boolean;
}

function parseSparsity(value: string): number {
  const number = Number(value);
  if (value.trim() === '' || !Number.isFinite(number) || number < 0 || number >= 1) {
    throw new UsageError(`--sparsity '${value}' is not a number in [0, 1); e.g. 0.5 removes half`);
  }
  return number;
}

function parseCount(flag: string, minimum = 0) {
  return (value: string): number => {
    if (!/^[0-9]+$/.test(value) || Number(value) < minimum) throw new UsageError(`--${flag} '${value}' is not an integer of at least ${minimum}`);
    return Number(value);
  };
}

export const pruneCommand = defineCommand<[model: string], PruneCommandOptions>({
  name: 'prune',
  summary: 'prune weights (magnitude) or whole channels (structured) and check the result in onnxruntime',
  description:
    'Prune an ONNX model. --method magnitude (default) zeroes the smallest weights of Conv, MatMul and Gemm to the exact ' +
    'sparsity, per layer or globally; the file only shrinks with --sparse-storage (or compression) and the model does not ' +
    'run faster. --method channels removes whole output channels (Conv) or columns (MatMul/Gemm) with everything that ' +
    'depends on them (BatchNormalization, residual Adds, Concat, depthwise Conv, Flatten → Gemm), so the model really has ' +
    'fewer parameters and MACs; it runs the model once to learn its shapes, and channels it cannot prove safe to remove ' +
    'are left alone and reported. The pruned model is run next to the original (unless --no-verify). Without fine-tuning ' +
    'accuracy drops; prune first, then quantize. Exit codes: 0 done, 1 --min-cosine not met (nothing written), 2 usage, ' +
    '3 bad input, 4 runtime failure.',
  arguments: [{ name: 'model', description: 'path of the .onnx file to prune' }],
  options: [
    { flags: '-o, --output <path>', description: 'where to write the pruned model (never the input path)' },
    { flags: '--sparsity <fraction>', description: 'fraction to remove, in [0, 1): of the weights (magnitude) or of each layer\'s channels (channels)', parse: parseSparsity },
    { flags: '--method <method>', description: 'magnitude (zero weights) or channels (remove channels)', choices: ['magnitude', 'channels'], defaultValue: 'magnitude' },
    { flags: '--scope <scope>', description: 'magnitude: the sparsity holds per weight (layer) or over all of them (global)', choices: ['layer', 'global'], defaultValue: 'layer' },
    { flags: '--norm <norm>', description: 'channels: rank channels by the L1 or L2 norm of their weights', choices: ['l1', 'l2'], defaultValue: 'l1' },
    { flags: '--round-to <n>', description: 'channels: leave each layer a multiple of n channels (8 or 16 suit CPU kernels)', parse: parseCount('round-to', 1), defaultValue: '1' },
    { flags: '--op-types <list>', description: `operators whose weights (magnitude) or outputs (channels) to prune, comma-separated (default Conv,MatMul,Gemm; also ConvTranspose)`, parse: parseOpTypeList(opTypeChoices) },
    { flags: '--exclude <node>', description: 'leave a node alone: its name, or /regex/ (repeatable)', parse: parseExclude, defaultValue: [] },
    { flags: '--min-elements <n>', description: 'magnitude: leave weights with fewer elements dense', parse: parseCount('min-elements'), defaultValue: '1024' },
    { flags: '--sparse-storage', description: 'magnitude: store pruned weights as sparse tensors where that is smaller (values + int64 indices)' },
    { flags: '--json', description: 'print the outcome as one JSON document (schemaVersion 1) on stdout' },
    { flags: '--no-verify', description: 'do not compare the models in onnxruntime (channels still runs the original once)' },
    { flags: '--samples <n>', description: 'random input sets to compare on', parse: parseCount('samples', 1), defaultValue: '2' },
    { flags: '--min-cosine <x>', description: 'exit 1 and write nothing when an output\'s cosine similarity is below x', parse: parseCosine() },
    { flags: '--shape <name=dims>', description: 'input shape for the runs, e.g. x=1,3,640,640 (repeatable; dynamic dims default to 1)', parse: collectShape },
    { flags: '--seed <n>', description: 'seed of the random inputs', parse: parseCount('seed'), defaultValue: '0' },
    { flags: '--force', description: 'overwrite an existing output file' },
  ],
  examples: [
    'mlctl prune model.onnx -o model.sparse.onnx --sparsity 0.9 --sparse-storage',
    'mlctl prune model.onnx -o model.slim.onnx --method channels --sparsity 0.3',
    'mlctl prune det.onnx -o det.slim.onnx --method channels --sparsity 0.3 --shape x=1,3,640,640 --json',
  ],

  async run([modelPath], options, context) {
    if (options.sparsity === undefined) throw new UsageError('prune needs a target: pass --sparsity <fraction>, e.g. --sparsity 0.5');
    const { assertCosineGate, checkModelOutput, packageVersion } = await import('../model-output.js');
    const output = await checkModelOutput('prune', modelPath, options.output, options.force === true);
    const { runPruneJob } = await import('../../verify/prune-job.js');
    const { withSpinner } = await import('../spinner.js');
    const passOptions = {
      method: options.method,
      sparsity: options.sparsity,
      ...(options.method === 'magnitude' ? { scope: options.scope, minElements: Number(options.minElements), sparseStorage: options.sparseStorage === true } : { norm: options.norm, roundTo: Number(options.roundTo) }),
      ...(options.opTypes === undefined ? {} : { opTypes: options.opTypes }),
      exclude: options.exclude,
    };
    const outcome = await withSpinner(context.stderr, `Pruning ${modelPath}`, () =>
      runPruneJob({
        input: modelPath,
        output,
        force: options.force === true,
        options: passOptions,
        verify: options.verify,
        samples: Number(options.samples),
        seed: Number(options.seed),
        ...(options.shape === undefined ? {} : { shapeOverrides: options.shape }),
        ...(options.minCosine === undefined ? {} : { minCosine: options.minCosine }),
        toolVersion: packageVersion(),
        parameters: { ...passOptions, exclude: options.exclude.map(String) },
      }),
    );
    const render = await import('../render/prune-report.js');
    context.stdout.write(options.json === true ? render.pruneOutcomeJson(outcome) : render.renderPruneOutcome(outcome));
    assertCosineGate(outcome.gate, outcome.verificationSkipped ?? 'no float outputs', 'lower --sparsity, --exclude the most sensitive layers, or fine-tune after pruning');
  },
});
