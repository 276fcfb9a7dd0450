/**
 * What the installed onnxruntime can run, found by running tiny models rather
 * than trusting version tables: ONNX Runtime's CPU ConvInteger accepted only
 * uint8 × uint8 for many releases, and which weight types a release takes
 * decides whether quantize may emit ConvInteger.
 */
import { makeGraph, makeModel, makeNode, makeTensorValueInfo } from '../onnx/builder.js';
import { serializeModel } from '../onnx/model-io.js';
import { createTensor } from '../onnx/tensor.js';
import { DataType } from '../onnx/types.js';
import type { QuantizedType } from '../passes/quantize/index.js';
import { runOnce } from './verify-model.js';

/** A 2×2 kernel over a 3×3 image of ones with a scalar zero point: each output is the kernel's sum. */
function convIntegerProbe(weightType: QuantizedType): Uint8Array {
  const dataType = weightType === 'int8' ? DataType.INT8 : DataType.UINT8;
  const kernel = weightType === 'int8' ? [1, -2, 3, 4] : [1, 2, 3, 4];
  const model = makeModel({
    opsets: { '': 13 },
    graph: makeGraph({
      name: 'conv_integer_probe',
      nodes: [makeNode('ConvInteger', ['x', 'w', 'x_zero_point', 'w_zero_point'], ['y'], {}, { name: 'probe' })],
      inputs: [makeTensorValueInfo('x', DataType.UINT8, [1, 1, 3, 3])],
      outputs: [makeTensorValueInfo('y', DataType.INT32, [1, 1, 2, 2])],
      initializers: [
        createTensor('w', dataType, [1, 1, 2, 2], kernel),
        createTensor('x_zero_point', DataType.UINT8, [], [0]),
        createTensor('w_zero_point', dataType, [], [0]),
      ],
    }),
  });
  return serializeModel(model);
}

let convIntegerCache: Promise<QuantizedType[]> | undefined;

/**
 * The weight types the installed onnxruntime's CPU ConvInteger runs
 * correctly with a uint8 input and a scalar weight zero point. Probed once
 * per process.
 */
export function convIntegerWeightTypes(): Promise<QuantizedType[]> {
  convIntegerCache ??= (async () => {
    const supported: QuantizedType[] = [];
    for (const weightType of ['uint8', 'int8'] as const) {
      const expected = weightType === 'int8' ? 6 : 10;
      try {
        const outputs = await runOnce(convIntegerProbe(weightType), { x: { dtype: 'uint8', dims: [1, 1, 3, 3], data: new Uint8Array(9).fill(1) } }, 'ConvInteger probe');
        const values = Array.from(outputs['y']?.data as Int32Array);
        if (values.length === 4 && values.every((value) => value === expected)) supported.push(weightType);
      } catch {
        // Not supported by this build: quantize gives such Convs weight-only treatment.
      }
    }
    return supported;
  })();
  return convIntegerCache;
}
