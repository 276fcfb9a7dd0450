/**
 * `mlctl convert <in.onnx> -o <out.onnx> --opset N`: moves a model to
 * another default-domain opset, up or down, and writes it atomically.
 */
import path from 'node:path';
import { UsageError } from '../../common/errors.js';
import { checkModelOutput, packageVersion } from '../model-output.js';
import { defineCommand, type CommandContext } from '../command-definition.js';
import { convertStepOptions, planConvertSteps, planHasWork, type ConvertStepsCliOptions } from './convert-steps.js';

/** Options of `mlctl convert`, as commander parses them (the other steps' options are in convert-steps.ts). */
export interface ConvertCommandOptions extends ConvertStepsCliOptions {
  output?: string;
  opset?: number;
  force?: boolean;
  json?: boolean;
}

function parseOpset(value: string): number {
  if (!/^[0-9]+$/.test(value) || Number(value) < 1) {
    throw new UsageError(`--opset '${value}' is not an opset version; expected a positive integer such as 13`);
  }
  return Number(value);
}

export const convertCommand = defineCommand<[model: string], ConvertCommandOptions>({
  name: 'convert',
  summary: 'convert a model: opset, float16, simplify, static shapes, external data',
  description:
    'Convert an ONNX model to another default-domain (ai.onnx) opset, up or down, one version at a time: operators ' +
    'whose attributes became inputs, whose axis semantics changed or that were replaced are rewritten to an ' +
    'equivalent form; subgraphs are converted too. Nodes without an equivalent in the target opset are all listed ' +
    'and nothing is written. The other options combine with --opset and run after it: --shape, --simplify, --fp16, ' +
    '--optimize, then --check, and --external-data/--inline-data decide where the weights go. Exit codes: 0 done, ' +
    '1 --check or --min-cosine failed (nothing written), 2 usage, 3 the model cannot be converted or read, 4 runtime failure.',
  arguments: [{ name: 'model', description: 'path of the .onnx file to convert' }],
  options: [
    { flags: '-o, --output <path>', description: 'where to write the converted model (never the input path)' },
    { flags: '--opset <version>', description: 'target default-domain opset, e.g. 13', parse: parseOpset },
    { flags: '--force', description: 'overwrite an existing output file' },
    { flags: '--json', description: 'print the conversion report as one JSON document (schemaVersion 1) on stdout' },
    ...convertStepOptions,
  ],
  examples: [
    'mlctl convert model.onnx -o model.op13.onnx --opset 13',
    'mlctl convert model.onnx -o model.op17.onnx --opset 17 --json',
    'mlctl convert model.onnx -o model.fp16.onnx --simplify --fp16 --keep-io-types',
    'mlctl convert model.onnx -o model.static.onnx --shape x=1,3,640,640 --simplify --check 3',
    'mlctl convert model.onnx -o big.onnx --external-data --threshold 1MB',
  ],

  async run([modelPath], options, context) {
    const plan = planConvertSteps(options);
    if (planHasWork(plan)) return convertWithSteps(modelPath, options, plan, context);
    if (options.opset === undefined) return resave(modelPath, options, context);
    const { latestOpset } = await import('../../onnx/opset.js');
    if (options.opset > latestOpset) {
      throw new UsageError(`--opset ${options.opset} is newer than any released ONNX opset; the newest is ${latestOpset}`);
    }
    const output = await checkModelOutput('convert', modelPath, options.output, options.force === true);

    const { loadModel, saveModel } = await import('../../onnx/model-io.js');
    const { loadExternalDataInline } = await import('../../onnx/external-data.js');
    const { withProvenance } = await import('../../onnx/provenance.js');
    const { sha256Bytes } = await import('../../common/hash.js');
    const { convertOpset } = await import('../../passes/convert/opset/index.js');
    const { withSpinner } = await import('../spinner.js');

    const opset = options.opset;
    const { saved, report } = await withSpinner(context.stderr, `Converting ${modelPath} to opset ${opset}`, async () => {
      const loaded = await loadModel(modelPath);
      const { model, report } = convertOpset(await loadExternalDataInline(loaded), opset, { label: modelPath });
      const stamped = withProvenance(model, {
        toolVersion: packageVersion(),
        command: 'convert',
        parameters: { opset },
        sourceSha256: sha256Bytes(loaded.bytes),
      });
      return { saved: await saveModel(stamped, output, { force: options.force === true }), report };
    });

    const outcome = { input: modelPath, output, sizeBytes: saved.sizeBytes, report };
    const { convertOutcomeJson, renderConvertOutcome } = await import('../render/convert-report.js');
    context.stdout.write(options.json === true ? convertOutcomeJson(outcome) : renderConvertOutcome(outcome));
  },
});

/** `--opset` (optional) followed by the steps of convert-steps.ts, saved with their data layout. */
async function convertWithSteps(modelPath: string, options: ConvertCommandOptions, plan: ReturnType<typeof planConvertSteps>, context: CommandContext): Promise<void> {
  const { latestOpset } = await import('../../onnx/opset.js');
  if (options.opset !== undefined && options.opset > latestOpset) {
    throw new UsageError(`--opset ${options.opset} is newer than any released ONNX opset; the newest is ${latestOpset}`);
  }
  const output = await checkModelOutput('convert', modelPath, options.output, options.force === true);
  const { loadModel } = await import('../../onnx/model-io.js');
  const { loadExternalDataInline } = await import('../../onnx/external-data.js');
  const { withProvenance } = await import('../../onnx/provenance.js');
  const { sha256Bytes } = await import('../../common/hash.js');
  const { convertOpset } = await import('../../passes/convert/opset/index.js');
  const { applyConvertSteps, saveConvertedModel, renderConvertSteps, convertStepsJson } = await import('./convert-steps.js');
  const { withSpinner } = await import('../spinner.js');

  const opset = options.opset;
  const result = await withSpinner(context.stderr, `Converting ${modelPath}`, async () => {
    const loaded = await loadModel(modelPath);
    const converted = opset === undefined ? undefined : convertOpset(await loadExternalDataInline(loaded), opset, { label: modelPath });
    const steps = await applyConvertSteps({ loaded, model: converted?.model ?? loaded.model }, plan);
    if (steps.failure !== undefined) return { report: converted?.report, steps, saved: undefined };
    const stamped = withProvenance(steps.model, {
      toolVersion: packageVersion(),
      command: 'convert',
      parameters: { ...(opset === undefined ? {} : { opset }), ...plan.parameters },
      sourceSha256: sha256Bytes(loaded.bytes),
    });
    return { report: converted?.report, steps, saved: await saveConvertedModel(stamped, output, loaded, plan, options.force === true) };
  });

  const { report, steps, saved } = result;
  for (const warning of steps.warnings) context.stderr.write(`mlctl: warning: ${warning}\n`);
  if (options.json === true) {
    const document = {
      schemaVersion: 1,
      input: modelPath,
      output: saved === undefined ? null : output,
      sizeBytes: saved?.saved.sizeBytes ?? null,
      ...(report === undefined ? {} : { report }),
      steps: await convertStepsJson(steps, saved),
    };
    context.stdout.write(JSON.stringify(document, null, 2) + '\n');
  } else {
    const sections: string[] = [];
    if (report !== undefined && saved !== undefined) {
      const { renderConvertOutcome } = await import('../render/convert-report.js');
      sections.push(renderConvertOutcome({ input: modelPath, output, sizeBytes: saved.saved.sizeBytes, report }));
    }
    sections.push((await renderConvertSteps(steps, saved)).text);
    context.stdout.write(sections.join('\n'));
  }
  if (steps.failure !== undefined) throw steps.failure;
}

/**
 * `convert` with no conversion options: the model re-saved as it is, byte for
 * byte (no provenance is added, since that would change the bytes).
 */
async function resave(modelPath: string, options: ConvertCommandOptions, context: CommandContext): Promise<void> {
  const output = await checkModelOutput('convert', modelPath, options.output, options.force === true);
  const { loadModel, saveModel } = await import('../../onnx/model-io.js');
  const { forEachTensorProto } = await import('../../onnx/tensor-walk.js');
  const { isExternalTensor } = await import('../../onnx/external-data.js');
  const loaded = await loadModel(modelPath);
  let external = false;
  forEachTensorProto(loaded.model, (tensor) => {
    external ||= isExternalTensor(tensor);
  });
  if (external && path.dirname(path.resolve(output)) !== loaded.dir) {
    throw new UsageError(`'${modelPath}' keeps weights in external data files, which a plain re-save into another folder would leave behind`, {
      hint: 'pass --external-data to write the weights next to the output, or --inline-data to put them inside it',
    });
  }
  const saved = await saveModel(loaded.model, output, { force: options.force === true });
  const document = { schemaVersion: 1, input: modelPath, output, sizeBytes: saved.sizeBytes, identical: true };
  context.stdout.write(options.json === true ? JSON.stringify(document, null, 2) + '\n' : `Re-saved ${modelPath} to ${output} unchanged (${saved.sizeBytes} bytes).\n`);
}
