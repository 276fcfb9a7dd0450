/**
 * `mlctl inspect <model> [--json]`: what a model is made of, without running it.
 */
import { defineCommand } from '../command-definition.js';
import { collectShape } from '../option-parsers.js';

/** Options of `mlctl inspect`. */
export interface InspectOptions {
  /** Print only the JSON summary document (see `ModelSummary`) on stdout. */
  json?: boolean;
  /** Count multiply-accumulates of Conv, ConvTranspose, Gemm and MatMul by running the model once. */
  macs?: boolean;
  /** Input dims for the --macs run, by input name. */
  shape?: Record<string, number[]>;
}

export const inspectCommand = defineCommand<[model: string], InspectOptions>({
  name: 'inspect',
  summary: "show a model's inputs, outputs, operators and parameters",
  description:
    'Show what an ONNX model contains: format and opset versions, inputs and outputs, ' +
    'operator counts, parameter counts and sizes, external data files and metadata. ' +
    'External data files are listed, never read.',
  arguments: [{ name: 'model', description: 'path of the .onnx file' }],
  options: [
    { flags: '--json', description: 'print the summary as one JSON document (schemaVersion 1) on stdout' },
    { flags: '--macs', description: 'count multiply-accumulates of Conv, ConvTranspose, Gemm and MatMul (runs the model once in onnxruntime to learn its shapes)' },
    { flags: '--shape <name=dims>', description: 'with --macs: dims of an input, e.g. x=1,3,224,224 (repeatable; other dynamic dims are 1)', parse: collectShape },
  ],
  examples: ['mlctl inspect model.onnx', 'mlctl inspect model.onnx --json | jq .opTypeHistogram', 'mlctl inspect model.onnx --macs --shape x=1,3,640,640'],

  async run([modelPath], options, context) {
    const { loadModel } = await import('../../onnx/model-io.js');
    const { summarizeModel } = await import('../../onnx/summary.js');
    const { withSpinner } = await import('../spinner.js');

    const loaded = await withSpinner(context.stderr, `Reading ${modelPath}`, () => loadModel(modelPath));
    const summary = summarizeModel(loaded);
    const macs = options.macs === true ? await countMacs(loaded, options.shape ?? {}, modelPath, context.stderr) : undefined;

    if (options.json === true) {
      context.stdout.write(JSON.stringify(macs === undefined ? summary : { ...summary, macs }, null, 2) + '\n');
      return;
    }
    const { renderSummary, renderMacs } = await import('../render/summary-tables.js');
    context.stdout.write(renderSummary(summary));
    if (macs !== undefined) context.stdout.write(renderMacs(macs));
  },
});

/** MAC counts for `--macs`: total, per operator type, and nodes whose shapes stayed unknown. */
export interface MacsSummary {
  total: number;
  byOpType: Record<string, number>;
  uncounted: string[];
  shapes: Record<string, number[]>;
}

async function countMacs(
  loaded: import('../../onnx/model-io.js').LoadedModel,
  shapes: Record<string, number[]>,
  label: string,
  stderr: NodeJS.WritableStream,
): Promise<MacsSummary> {
  const { loadExternalDataInline } = await import('../../onnx/external-data.js');
  const { measureMacs } = await import('../../verify/prune-run.js');
  const { withSpinner } = await import('../spinner.js');
  const model = await loadExternalDataInline(loaded);
  const report = await withSpinner(stderr, `Counting MACs of ${label}`, () => measureMacs(model, { shapeOverrides: shapes, label }));
  const byOpType: Record<string, number> = {};
  for (const node of report.nodes) byOpType[node.opType] = (byOpType[node.opType] ?? 0) + node.macs;
  return { total: report.total, byOpType, uncounted: report.uncounted, shapes };
}
