/**
 * The `--mode static` part of `mlctl quantize`: its options (merged into the
 * quantize command's option table) and its action. Kept apart from
 * quantize.ts so that the weight-only/dynamic command stays as it is; cheap
 * to import (heavy modules load inside the action).
 */
import { UsageError } from '../../common/errors.js';
import type { CommandContext, OptionDefinition } from '../command-definition.js';
import { assertCosineGate, packageVersion } from '../model-output.js';

/** Calibration methods `--calibrate` accepts. */
export const calibrationMethods = ['minmax', 'percentile', 'entropy'] as const;

/** The options static mode adds, as commander parses them. */
export interface StaticCommandOptions {
  calibration?: string;
  calibrationRandom?: number;
  calibrationLimit?: number;
  calibrate?: (typeof calibrationMethods)[number];
  movingAverage?: boolean;
  activationType?: 'uint8' | 'int8';
  targetCosine?: number;
  maxError?: number;
  sensitivity?: 'quantize-one' | 'keep-one-float';
  debugReport?: boolean;
  explicitBiasScales?: boolean;
}

/** The quantize options static mode shares with the other modes. */
export interface SharedQuantizeOptions {
  output?: string;
  perChannel?: boolean;
  perTensor?: boolean;
  symmetric?: boolean;
  asymmetric?: boolean;
  weightType: string;
  reduceRange?: boolean;
  convInteger?: boolean;
  opTypes?: string[];
  exclude: (string | RegExp)[];
  /** A number when given; commander hands the default through as the string '1024'. */
  minElements: number | string;
  dryRun?: boolean;
  json?: boolean;
  verify: boolean;
  minCosine?: number;
  checkSpeed?: boolean;
  force?: boolean;
  shape?: Record<string, number[]>;
  seed: number | string;
  inputs?: string;
  externalData?: boolean;
}

function positiveCount(flag: string) {
  return (value: string): number => {
    if (!/^[0-9]+$/.test(value) || Number(value) < 1) throw new UsageError(`${flag} '${value}' is not a positive integer`);
    return Number(value);
  };
}

function parseTargetCosine(value: string): number {
  const number = Number(value);
  if (value.trim() === '' || !Number.isFinite(number) || number < -1 || number > 1) {
    throw new UsageError(`--target-cosine '${value}' is not a number between -1 and 1`);
  }
  return number;
}

function parseMaxError(value: string): number {
  const number = Number(value);
  if (value.trim() === '' || !Number.isFinite(number) || number < 0) throw new UsageError(`--max-error '${value}' is not a non-negative number`);
  return number;
}

/** Options merged into the quantize command's table. */
export const staticQuantizeOptions: readonly OptionDefinition[] = [
  { flags: '--calibration <dir>', description: 'static: calibration samples, one .pb/.npy/.json file per sample (one sub-folder per sample for several inputs)' },
  { flags: '--calibration-random <n>', description: 'static: calibrate on n seeded random samples instead (ranges of noise, not of real data)', parse: positiveCount('--calibration-random') },
  { flags: '--calibration-limit <n>', description: 'static: use at most n calibration samples', parse: positiveCount('--calibration-limit') },
  { flags: '--calibrate <method>', description: 'static: range method, minmax (default), percentile (99.999, 2048 bins, symmetric) or entropy (128 bins), as onnxruntime', choices: calibrationMethods },
  { flags: '--moving-average', description: 'static, minmax: average of each sample\'s min and max instead of the extremes' },
  { flags: '--activation-type <type>', description: 'static: activation element type, asymmetric (default uint8)', choices: ['uint8', 'int8'] },
  { flags: '--target-cosine <x>', description: 'static: keep the most harmful nodes in float until every output\'s cosine to the float model is at least x', parse: parseTargetCosine },
  { flags: '--max-error <x>', description: 'static: keep the most harmful nodes in float until no output element differs from the float model by more than x', parse: parseMaxError },
  { flags: '--sensitivity <method>', description: 'static search: rank nodes by quantizing one at a time (quantize-one, default) or keeping one at a time in float (keep-one-float)', choices: ['quantize-one', 'keep-one-float'] },
  { flags: '--debug-report', description: 'static: report per activation the SQNR between float and dequantized values (where error enters)' },
  { flags: '--explicit-bias-scales', description: 'static: store each bias scale as an initializer instead of a Mul of the input and weight scales (for runtimes that want every QDQ scale stored)' },
];

const staticOnlyFlags: readonly [keyof StaticCommandOptions, string][] = [
  ['calibration', '--calibration'],
  ['calibrationRandom', '--calibration-random'],
  ['calibrationLimit', '--calibration-limit'],
  ['calibrate', '--calibrate'],
  ['movingAverage', '--moving-average'],
  ['activationType', '--activation-type'],
  ['targetCosine', '--target-cosine'],
  ['maxError', '--max-error'],
  ['sensitivity', '--sensitivity'],
  ['debugReport', '--debug-report'],
  ['explicitBiasScales', '--explicit-bias-scales'],
];

/** Refuses static-only options in the other modes. */
export function checkStaticOnly(mode: string, options: StaticCommandOptions): void {
  if (mode === 'static') return;
  const given = staticOnlyFlags.find(([key]) => options[key] !== undefined);
  if (given !== undefined) throw new UsageError(`${given[1]} applies to --mode static only (the mode is '${mode}')`);
}

/** Refuses options of the other modes that static mode does not take. */
function checkNotForStatic(options: SharedQuantizeOptions & StaticCommandOptions): void {
  const refused: [boolean, string, string][] = [
    [options.weightType !== 'int8', '--weight-type', 'static weights are int8 (symmetric)'],
    [options.symmetric === true || options.asymmetric === true, options.symmetric === true ? '--symmetric' : '--asymmetric', 'static weights are symmetric and activations asymmetric'],
    [options.convInteger === true, '--conv-integer', 'static mode emits QDQ, which onnxruntime fuses into QLinearConv'],
    [options.opTypes !== undefined, '--op-types', 'use --exclude to keep nodes in float'],
    [options.checkSpeed === true, '--check-speed', 'measure with mlctl bench <out.onnx> --vs <in.onnx>'],
    [options.externalData === true, '--external-data', 'static mode writes external data only over 2 GiB'],
    [options.targetCosine !== undefined && options.maxError !== undefined, '--max-error', 'give one accuracy target, --target-cosine or --max-error'],
    [options.sensitivity !== undefined && options.targetCosine === undefined && options.maxError === undefined, '--sensitivity', 'it orders the search that --target-cosine or --max-error starts'],
  ];
  const hit = refused.find(([given]) => given);
  if (hit !== undefined) throw new UsageError(`${hit[1]} does not apply to --mode static: ${hit[2]}`);
}

/** The action of `mlctl quantize --mode static`. */
export async function runStaticQuantize(modelPath: string, options: SharedQuantizeOptions & StaticCommandOptions, context: CommandContext): Promise<void> {
  checkNotForStatic(options);
  if (options.perChannel === true && options.perTensor === true) throw new UsageError('--per-channel and --per-tensor contradict each other; pass one of them');
  if (options.inputs !== undefined && options.shape !== undefined) throw new UsageError('--inputs gives the tensors themselves; --shape applies to random inputs only');
  const { randomCalibrationWarning, runStaticQuantizeJob } = await import('../../verify/calibration/static-quantize-job.js');
  // Said before the work starts, where a user watching the terminal sees it.
  const randomWarning = options.calibrationRandom === undefined || options.calibration !== undefined ? undefined : randomCalibrationWarning(options.calibrationRandom);
  if (randomWarning !== undefined) context.stderr.write(`mlctl: warning: ${randomWarning}\n`);
  const { withSpinner } = await import('../spinner.js');
  const passOptions = {
    activationType: options.activationType ?? 'uint8',
    perChannel: options.perTensor !== true,
    reduceRange: options.reduceRange === true,
    exclude: options.exclude,
    // A number only when given: static mode quantizes every weight unless told otherwise.
    minElements: typeof options.minElements === 'number' ? options.minElements : 0,
    explicitBiasScales: options.explicitBiasScales === true,
  };
  const settings = { method: options.calibrate ?? 'minmax', movingAverage: options.movingAverage === true };
  const target = options.targetCosine !== undefined ? { kind: 'cosine' as const, value: options.targetCosine } : options.maxError !== undefined ? { kind: 'max-error' as const, value: options.maxError } : undefined;
  const outcome = await withSpinner(context.stderr, `Quantizing ${modelPath} (static)`, () =>
    runStaticQuantizeJob({
      input: modelPath,
      ...(options.output === undefined ? {} : { output: options.output }),
      dryRun: options.dryRun === true,
      force: options.force === true,
      calibration: {
        ...(options.calibration === undefined ? {} : { dir: options.calibration }),
        ...(options.calibrationRandom === undefined ? {} : { random: options.calibrationRandom }),
        ...(options.calibrationLimit === undefined ? {} : { limit: options.calibrationLimit }),
        seed: Number(options.seed),
        ...(options.shape === undefined ? {} : { shapeOverrides: options.shape }),
      },
      settings,
      options: passOptions,
      ...(target === undefined ? {} : { target }),
      ...(options.sensitivity === undefined ? {} : { ranking: options.sensitivity }),
      ...(options.inputs === undefined ? {} : { inputsDir: options.inputs }),
      verify: options.verify,
      ...(options.minCosine === undefined ? {} : { minCosine: options.minCosine }),
      debugReport: options.debugReport === true,
      toolVersion: packageVersion(),
      parameters: {
        mode: 'static',
        ...passOptions,
        ...settings,
        exclude: options.exclude.map(String),
        ...(target === undefined ? {} : { target, sensitivity: options.sensitivity ?? 'quantize-one' }),
      },
    }),
  );
  for (const warning of outcome.warnings.filter((w) => w !== randomWarning)) context.stderr.write(`mlctl: warning: ${warning}\n`);
  const render = await import('../render/static-quantize-report.js');
  context.stdout.write(options.json === true ? render.staticQuantizeOutcomeJson(outcome) : render.renderStaticQuantizeOutcome(outcome));
  assertCosineGate(outcome.gate, 'verification did not run', 'try --target-cosine to keep the most sensitive nodes in float, --calibrate percentile, or more calibration samples');
}
