/**
 * `mlctl quantize <in.onnx> -o <out.onnx> [options]`: int8/uint8 weight
 * quantization with ONNX Runtime's numerics, verified in onnxruntime.
 */
import { UsageError } from '../../common/errors.js';
import { assertCosineGate, packageVersion } from '../model-output.js';
import { collectShape, parseCosine, parseExclude, parseOpTypeList } from '../option-parsers.js';
import { defineCommand } from '../command-definition.js';
import { checkStaticOnly, runStaticQuantize, staticQuantizeOptions, type SharedQuantizeOptions, type StaticCommandOptions } from './quantize-static.js';

/** Operator types `--op-types` accepts: the pass's list, repeated so that --help needs no heavy import (a test keeps them equal). */
export const opTypeChoices = ['MatMul', 'Gemm', 'Conv', 'ConvTranspose', 'Gather'] as const;

/** Default of `--min-elements`: the pass's DEFAULT_MIN_ELEMENTS (a test keeps them equal). */
export const defaultMinElements = 1024;

/** Options of `mlctl quantize`, as commander parses them. */
export interface QuantizeCommandOptions extends SharedQuantizeOptions, StaticCommandOptions {
  mode: 'weight-only' | 'dynamic' | 'static';
  weightType: 'int8' | 'uint8';
  minElements: number;
  seed: number;
}

function parseCount(flag: string) {
  return (value: string): number => {
    if (!/^[0-9]+$/.test(value)) throw new UsageError(`${flag} '${value}' is not a non-negative integer`);
    return Number(value);
  };
}

function either(yes: boolean | undefined, no: boolean | undefined, yesFlag: string, noFlag: string): boolean | undefined {
  if (yes === true && no === true) throw new UsageError(`${yesFlag} and ${noFlag} contradict each other; pass one of them`);
  return yes === true ? true : no === true ? false : undefined;
}

export const quantizeCommand = defineCommand<[model: string], QuantizeCommandOptions>({
  name: 'quantize',
  summary: 'quantize weights to int8/uint8 and check the result in onnxruntime',
  description:
    'Quantize the weights of MatMul, Gemm, Conv, ConvTranspose and Gather nodes to int8 or uint8 with ONNX Runtime\'s ' +
    'numerics. dynamic mode (default) turns MatMul/Gemm into DynamicQuantizeLinear + MatMulInteger, which ONNX Runtime ' +
    'runs as int8 kernels (Conv stays weight-only unless --conv-integer); weight-only mode stores int8 weights behind DequantizeLinear (4x smaller, not faster). ' +
    'static mode calibrates activation ranges on samples and writes QDQ, which ONNX Runtime fuses into QLinearConv/QLinearMatMul. ' +
    'Old opsets are raised to 13. Unless --no-verify, the result is run next to the original in onnxruntime; nodes the ' +
    'runtime cannot run quantized are left in float. Exit codes: 0 done, 1 --min-cosine not met (nothing written), ' +
    '2 usage, 3 bad input, 4 runtime failure.',
  arguments: [{ name: 'model', description: 'path of the .onnx file to quantize' }],
  options: [
    { flags: '-o, --output <path>', description: 'where to write the quantized model (never the input path)' },
    { flags: '--mode <mode>', description: 'dynamic (int8 kernels), weight-only (DequantizeLinear on weights) or static (calibrated QDQ, needs --calibration)', choices: ['dynamic', 'weight-only', 'static'], defaultValue: 'dynamic' },
    { flags: '--per-channel', description: 'one scale per output channel (the default)' },
    { flags: '--per-tensor', description: 'one scale per weight tensor' },
    { flags: '--symmetric', description: 'zero point at the middle of the range (default for int8)' },
    { flags: '--asymmetric', description: 'zero point from the data range (default for uint8)' },
    { flags: '--weight-type <type>', description: 'weight element type', choices: ['int8', 'uint8'], defaultValue: 'int8' },
    { flags: '--reduce-range', description: '7-bit weights, for AVX2 CPUs without VNNI' },
    { flags: '--conv-integer', description: 'dynamic mode: emit ConvInteger for Conv (slower than float Conv in onnxruntime 1.30 on CPU; default weight-only)' },
    { flags: '--op-types <list>', description: `operator types to quantize, comma-separated (default all: ${opTypeChoices.join(',')})`, parse: parseOpTypeList(opTypeChoices) },
    { flags: '--exclude <node>', description: 'leave a node in float: its name, or /regex/ (repeatable)', parse: parseExclude, defaultValue: [] },
    { flags: '--min-elements <n>', description: 'leave weights with fewer elements in float', parse: parseCount('--min-elements'), defaultValue: String(defaultMinElements) },
    { flags: '--dry-run', description: 'show the plan and the estimated size; write nothing' },
    { flags: '--json', description: 'print the outcome as one JSON document (schemaVersion 1) on stdout' },
    { flags: '--no-verify', description: 'do not run the models in onnxruntime' },
    { flags: '--min-cosine <x>', description: 'exit 1 and write nothing when an output\'s cosine similarity is below x', parse: parseCosine() },
    { flags: '--check-speed', description: 'time original and quantized model here and say which is faster' },
    { flags: '--inputs <dir>', description: 'verify on real inputs: one .pb (TensorProto), .npy or .json file per model input in <dir>, named after it or input_<n>' },
    { flags: '--shape <name=dims>', description: 'random input shape for verification, e.g. input=1,3,224,224 (repeatable)', parse: collectShape },
    { flags: '--seed <n>', description: 'seed of the random verification inputs', parse: parseCount('--seed'), defaultValue: '0' },
    { flags: '--external-data', description: 'write the weights to <output>.data next to the model (automatic over 2 GiB)' },
    { flags: '--force', description: 'overwrite an existing output file (and its .data file)' },
    ...staticQuantizeOptions,
  ],
  examples: [
    'mlctl quantize model.onnx -o model.int8.onnx',
    'mlctl quantize model.onnx -o model.int8.onnx --mode weight-only --min-cosine 0.99',
    'mlctl quantize model.onnx --dry-run --exclude /classifier/ --json',
    'mlctl quantize model.onnx -o model.int8.onnx --inputs test_data_set_0 --min-cosine 0.995',
    'mlctl quantize model.onnx -o model.qdq.onnx --mode static --calibration samples/ --target-cosine 0.99',
  ],

  async run([modelPath], options, context) {
    checkStaticOnly(options.mode, options);
    if (options.mode === 'static') return runStaticQuantize(modelPath, options, context);
    const { runQuantizeJob } = await import('../../verify/quantize-job.js');
    const { withSpinner } = await import('../spinner.js');
    if (options.inputs !== undefined && options.shape !== undefined) {
      throw new UsageError('--inputs gives the tensors themselves; --shape applies to random inputs only');
    }
    if (options.inputs !== undefined && !options.verify && options.checkSpeed !== true) {
      throw new UsageError('--inputs feeds the verification, which --no-verify turns off; leave out one of them');
    }
    const perChannel = either(options.perChannel, options.perTensor, '--per-channel', '--per-tensor');
    const symmetric = either(options.symmetric, options.asymmetric, '--symmetric', '--asymmetric');
    // Commander hands string defaults through unparsed.
    const minElements = Number(options.minElements);
    const seed = Number(options.seed);
    const passOptions = {
      mode: options.mode,
      weightType: options.weightType,
      ...(perChannel === undefined ? {} : { perChannel }),
      ...(symmetric === undefined ? {} : { symmetric }),
      reduceRange: options.reduceRange === true,
      convInteger: options.convInteger === true,
      ...(options.opTypes === undefined ? {} : { opTypes: options.opTypes as (typeof opTypeChoices)[number][] }),
      exclude: options.exclude,
      minElements,
    };
    const outcome = await withSpinner(context.stderr, `Quantizing ${modelPath}`, () =>
      runQuantizeJob({
        input: modelPath,
        ...(options.output === undefined ? {} : { output: options.output }),
        dryRun: options.dryRun === true,
        force: options.force === true,
        verify: options.verify,
        ...(options.minCosine === undefined ? {} : { minCosine: options.minCosine }),
        checkSpeed: options.checkSpeed === true,
        options: passOptions,
        verifyInputs: options.inputs === undefined ? { seed, ...(options.shape === undefined ? {} : { shapeOverrides: options.shape }) } : { inputsDir: options.inputs },
        externalData: options.externalData === true,
        toolVersion: packageVersion(),
        parameters: { ...passOptions, exclude: options.exclude.map(String) },
      }),
    );
    const render = await import('../render/quantize-report.js');
    context.stdout.write(options.json === true ? render.quantizeOutcomeJson(outcome) : render.renderQuantizeOutcome(outcome));
    assertCosineGate(outcome.gate, outcome.verificationSkipped ?? 'no float outputs', 'try --per-channel, --exclude the most sensitive nodes, or --mode weight-only');
  },
});
