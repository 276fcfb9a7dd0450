/**
 * The options of `mlctl convert` besides `--opset`: --shape, --simplify,
 * --fp16 (and its block lists), --optimize, --check, and where the weights
 * go (--external-data, --inline-data). `convert.ts` adds this option table
 * to its own and calls the functions below; this module stays cheap to
 * import (the services are loaded inside the functions that need them).
 */
import { UsageError } from '../../common/errors.js';
import type { ConvertSteps, ConvertStepsInput, ConvertStepsOutcome, SavedConversion } from '../../convert-runtime/run-steps.js';
import type { LoadedModel } from '../../onnx/model-io.js';
import type { ModelProto } from '../../onnx/types.js';
import { parseByteSize } from '../../passes/convert/io/byte-size.js';
import type { DataLayoutRequest } from '../../passes/convert/io/data-layout.js';
import type { SimplifyStep } from '../../passes/convert/simplify/types.js';
import type { OptionDefinition } from '../command-definition.js';
import { collectShape, parseCosine } from '../option-parsers.js';

/** Rewrites `--simplify-skip` accepts (the pass's list; repeated here so that --help needs no heavy import). */
const simplifyStepNames: readonly SimplifyStep[] = [
  'lift-constants', 'remove-identity', 'remove-dropout', 'dead-code', 'dedupe-initializers', 'fold-constants', 'inline-if', 'fuse-conv-bn', 'fuse-matmul-add',
];

/** The options of this module, as commander parses them. */
export interface ConvertStepsCliOptions {
  shape?: Record<string, number[]>;
  simplify?: boolean;
  simplifySkip?: SimplifyStep[];
  foldLimit?: number;
  fp16?: boolean;
  keepIoTypes?: boolean;
  opBlockList?: string[];
  nodeBlockList?: string[];
  /** `--no-default-block-list` sets this to false. */
  defaultBlockList?: boolean;
  optimize?: 'basic' | 'extended' | 'all';
  check?: number;
  /** `--no-verify` sets this to false. */
  verify?: boolean;
  minCosine?: number;
  seed?: number | string;
  inputs?: string;
  externalData?: boolean;
  threshold?: number;
  inlineData?: boolean;
}


function parseList(flag: string) {
  return (value: string, previous: unknown): string[] => {
    const list = Array.isArray(previous) ? (previous as string[]) : [];
    const items = value.split(',').map((item) => item.trim()).filter((item) => item !== '');
    if (items.length === 0) throw new UsageError(`${flag} '${value}' names nothing; expected a comma-separated list`);
    return [...list, ...items];
  };
}

function parseSteps(value: string, previous: unknown): SimplifyStep[] {
  const items = parseList('--simplify-skip')(value, previous);
  const bad = items.find((item) => !(simplifyStepNames as readonly string[]).includes(item));
  if (bad !== undefined) throw new UsageError(`--simplify-skip '${bad}' is not a simplify rewrite; expected some of ${simplifyStepNames.join(', ')}`);
  return items as SimplifyStep[];
}

function parsePositive(flag: string) {
  return (value: string): number => {
    if (!/^[0-9]+$/.test(value) || Number(value) < 1) throw new UsageError(`${flag} '${value}' is not a positive integer`);
    return Number(value);
  };
}

function parseSeed(value: string): number {
  if (!/^[0-9]+$/.test(value)) throw new UsageError(`--seed '${value}' is not a non-negative integer`);
  return Number(value);
}


/** The option table, for `convert`'s definition. */
export const convertStepOptions: readonly OptionDefinition[] = [
  { flags: '--shape <name=dims>', description: 'fix an input\'s dims and propagate shapes, e.g. x=1,3,224,224 (repeatable)', parse: collectShape },
  { flags: '--simplify', description: 'remove dead nodes, Identity and inference Dropout, duplicate and unused initializers; fold constants; fuse Conv+BatchNormalization and MatMul+Add into Gemm' },
  { flags: '--simplify-skip <steps>', description: `leave out simplify rewrites, comma-separated: ${simplifyStepNames.join(', ')}`, parse: parseSteps },
  { flags: '--fold-limit <size>', description: 'most bytes constant folding may add to the model in total (default 64KiB)', parse: (value) => parseByteSize(value, '--fold-limit') },
  { flags: '--fp16', description: 'convert float32 weights and computation to float16; blocked operators stay float32 behind Casts' },
  { flags: '--keep-io-types', description: 'with --fp16: keep float32 graph inputs and outputs' },
  { flags: '--op-block-list <ops>', description: 'with --fp16: more operator types to keep in float32, comma-separated (added to the default list)', parse: parseList('--op-block-list') },
  { flags: '--node-block-list <names>', description: 'with --fp16: node names to keep in float32, comma-separated', parse: parseList('--node-block-list') },
  { flags: '--no-default-block-list', description: 'with --fp16: do not keep Resize, Range, CumSum, TopK, NonMaxSuppression, RoiAlign, Min, Max, Upsample, RandomUniformLike in float32' },
  { flags: '--optimize <level>', description: "save ONNX Runtime's own optimized graph (may hold ONNX Runtime-only operators)", choices: ['basic', 'extended', 'all'] },
  { flags: '--check <n>', description: 'compare outputs with the input model on n sets of random inputs; exit 1 and write nothing when they differ beyond rtol 1e-3, atol 1e-4 (with --fp16, only --min-cosine gates)', parse: parsePositive('--check') },
  { flags: '--no-verify', description: 'do not compare an --fp16 result with the float32 model, nor load a --shape/--simplify result in onnxruntime' },
  { flags: '--min-cosine <x>', description: 'exit 1 and write nothing when an output\'s cosine similarity to the original\'s is below x', parse: parseCosine() },
  { flags: '--seed <n>', description: 'seed of the random check inputs (default 0)', parse: parseSeed },
  { flags: '--inputs <dir>', description: 'compare on these real inputs instead of random ones (one run): one .pb (TensorProto), .npy or .json file per input, named after it' },
  { flags: '--external-data', description: 'store weights in one aligned data file next to the output (<out>.data)' },
  { flags: '--threshold <size>', description: 'with --external-data: smallest tensor to move out, e.g. 1KB (default), 4MiB', parse: (value) => parseByteSize(value, '--threshold') },
  { flags: '--inline-data', description: 'store every weight inside the .onnx file (refused beyond 2 GiB)' },
];

/** Validated steps, the data layout, and the parameters to record in provenance. */
export interface ConvertStepsPlan {
  steps: ConvertSteps;
  data: DataLayoutRequest;
  parameters: Record<string, unknown>;
}

function needs(given: boolean, flag: string, required: string): void {
  if (given) throw new UsageError(`${flag} needs ${required}`);
}

/**
 * Checks the options against each other and turns them into steps.
 * @throws UsageError (exit 2) for options that contradict or lack what they refine.
 */
export function planConvertSteps(options: ConvertStepsCliOptions): ConvertStepsPlan {
  const fp16 = options.fp16 === true;
  needs(!fp16 && options.keepIoTypes === true, '--keep-io-types', '--fp16');
  needs(!fp16 && options.opBlockList !== undefined, '--op-block-list', '--fp16');
  needs(!fp16 && options.nodeBlockList !== undefined, '--node-block-list', '--fp16');
  needs(!fp16 && options.defaultBlockList === false, '--no-default-block-list', '--fp16');
  needs(!fp16 && options.shape === undefined && options.simplify !== true && options.verify === false, '--no-verify', '--shape, --simplify or --fp16');
  needs(options.simplify !== true && options.simplifySkip !== undefined, '--simplify-skip', '--simplify');
  needs(options.simplify !== true && options.foldLimit !== undefined, '--fold-limit', '--simplify');
  needs(options.externalData !== true && options.threshold !== undefined, '--threshold', '--external-data');
  if (options.externalData === true && options.inlineData === true) throw new UsageError('--external-data and --inline-data contradict each other; pass one of them');
  const checks = options.check !== undefined || (fp16 && options.verify !== false);
  needs(options.minCosine !== undefined && !checks, '--min-cosine', 'a comparison: --check <n>, or --fp16 with verification');
  needs(options.seed !== undefined && !checks, '--seed', 'a comparison: --check <n>, or --fp16 with verification');
  needs(options.inputs !== undefined && !checks, '--inputs', 'a comparison: --check <n>, or --fp16 with verification');

  const steps: ConvertSteps = {};
  const parameters: Record<string, unknown> = {};
  if (options.shape !== undefined) {
    steps.shapes = options.shape;
    parameters['shape'] = options.shape;
  }
  if (options.simplify === true) {
    steps.simplify = {
      ...(options.simplifySkip === undefined ? {} : { skip: options.simplifySkip }),
      ...(options.foldLimit === undefined ? {} : { foldGrowthLimitBytes: options.foldLimit }),
    };
    parameters['simplify'] = steps.simplify;
  }
  if (fp16) {
    steps.fp16 = {
      keepIoTypes: options.keepIoTypes === true,
      defaultBlockList: options.defaultBlockList !== false,
      ...(options.opBlockList === undefined ? {} : { opBlockList: options.opBlockList }),
      ...(options.nodeBlockList === undefined ? {} : { nodeBlockList: options.nodeBlockList }),
    };
    parameters['fp16'] = steps.fp16;
  }
  if (options.optimize !== undefined) {
    steps.optimize = options.optimize;
    parameters['optimize'] = options.optimize;
  }
  if (options.check !== undefined) {
    steps.check = options.check;
    parameters['check'] = options.check;
  }
  if (options.verify === false) steps.verify = false;
  if (options.minCosine !== undefined) steps.minCosine = options.minCosine;
  if (options.seed !== undefined) steps.seed = Number(options.seed);
  if (options.inputs !== undefined) {
    steps.inputsDir = options.inputs;
    parameters['inputs'] = options.inputs;
  }

  let data: DataLayoutRequest = { mode: 'keep' };
  if (options.externalData === true) {
    data = { mode: 'external', ...(options.threshold === undefined ? {} : { thresholdBytes: options.threshold }) };
    parameters['externalData'] = options.threshold === undefined ? true : { thresholdBytes: options.threshold };
  } else if (options.inlineData === true) {
    data = { mode: 'inline' };
    parameters['inlineData'] = true;
  }
  return { steps, data, parameters };
}

/** Whether the plan changes anything: a step, or a data layout other than keeping the input's. */
export function planHasWork(plan: ConvertStepsPlan): boolean {
  return Object.keys(plan.parameters).length > 0;
}

/** Applies the plan's steps (see convert-runtime/run-steps.ts). */
export async function applyConvertSteps(input: ConvertStepsInput, plan: ConvertStepsPlan): Promise<ConvertStepsOutcome> {
  const { runConvertSteps } = await import('../../convert-runtime/run-steps.js');
  return runConvertSteps(input, plan.steps);
}

/** Saves a converted model with the plan's data layout, atomically. */
export async function saveConvertedModel(model: ModelProto, output: string, loaded: LoadedModel, plan: ConvertStepsPlan, force: boolean): Promise<SavedConversion> {
  const { saveConverted } = await import('../../convert-runtime/run-steps.js');
  return saveConverted(model, output, { loaded, data: plan.data, force });
}

/** The outcome as tables for stdout, and the warnings for stderr. */
export async function renderConvertSteps(outcome: ConvertStepsOutcome, saved?: SavedConversion): Promise<{ text: string; warnings: string[] }> {
  const { renderConvertStepsOutcome } = await import('../render/convert-steps-report.js');
  return { text: renderConvertStepsOutcome(outcome, saved), warnings: outcome.warnings };
}

/** The outcome as a JSON-ready object, for the command's JSON document. */
export async function convertStepsJson(outcome: ConvertStepsOutcome, saved?: SavedConversion): Promise<Record<string, unknown>> {
  const { convertStepsDocument } = await import('../render/convert-steps-report.js');
  return convertStepsDocument(outcome, saved);
}
