/**
 * `mlctl inspect <model> [--json]`: what a model is made of, without running it.
 */
import { defineCommand } from '../command-definition.js';

/** Options of `mlctl inspect`. */
export interface InspectOptions {
  /** Print only the JSON summary document (see `ModelSummary`) on stdout. */
  json?: boolean;
}

export const inspectCommand = defineCommand<[model: string], InspectOptions>({
  name: 'inspect',
  summary: "show a model's inputs, outputs, operators and parameters",
  description:
    'Show what an ONNX model contains: format and opset versions, inputs and outputs, ' +
    'operator counts, parameter counts and sizes, external data files and metadata. ' +
    'External data files are listed, never read.',
  arguments: [{ name: 'model', description: 'path of the .onnx file' }],
  options: [{ flags: '--json', description: 'print the summary as one JSON document (schemaVersion 1) on stdout' }],
  examples: ['mlctl inspect model.onnx', 'mlctl inspect model.onnx --json | jq .opTypeHistogram'],

  async run([modelPath], options, context) {
    const { loadModel } = await import('../../onnx/model-io.js');
    const { summarizeModel } = await import('../../onnx/summary.js');
    const { withSpinner } = await import('../spinner.js');

    const loaded = await withSpinner(context.stderr, `Reading ${modelPath}`, () => loadModel(modelPath));
    const summary = summarizeModel(loaded);

    if (options.json === true) {
      context.stdout.write(JSON.stringify(summary, null, 2) + '\n');
      return;
    }
    const { renderSummary } = await import('../render/summary-tables.js');
    context.stdout.write(renderSummary(summary));
  },
});
