/**
 * `mlctl convert <in.onnx> -o <out.onnx> --opset N`: moves a model to
 * another default-domain opset, up or down, and writes it atomically.
 */
import { UsageError } from '../../common/errors.js';
import { checkModelOutput, packageVersion } from '../model-output.js';
import { defineCommand } from '../command-definition.js';

/** Options of `mlctl convert`, as commander parses them. */
export interface ConvertCommandOptions {
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
  summary: 'convert a model to another opset',
  description:
    'Convert an ONNX model to another default-domain (ai.onnx) opset, up or down, one version at a time: operators ' +
    'whose attributes became inputs, whose axis semantics changed or that were replaced are rewritten to an ' +
    'equivalent form; subgraphs are converted too. Nodes without an equivalent in the target opset are all listed ' +
    'and nothing is written. Exit codes: 0 done, 2 usage, 3 the model cannot be converted or read.',
  arguments: [{ name: 'model', description: 'path of the .onnx file to convert' }],
  options: [
    { flags: '-o, --output <path>', description: 'where to write the converted model (never the input path)' },
    { flags: '--opset <version>', description: 'target default-domain opset, e.g. 13', parse: parseOpset },
    { flags: '--force', description: 'overwrite an existing output file' },
    { flags: '--json', description: 'print the conversion report as one JSON document (schemaVersion 1) on stdout' },
  ],
  examples: ['mlctl convert model.onnx -o model.op13.onnx --opset 13', 'mlctl convert model.onnx -o model.op17.onnx --opset 17 --json'],

  async run([modelPath], options, context) {
    if (options.opset === undefined) throw new UsageError('convert needs a target opset: pass --opset <version>, e.g. --opset 13');
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
