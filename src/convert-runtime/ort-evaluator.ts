/**
 * The constant evaluator the simplify pass is given in mlctl: it runs the
 * nodes to fold in ONNX Runtime (through the runtime adapter), with graph
 * optimizations off so that each node computes exactly what its operator
 * defines.
 */
import { serializeModel } from '../onnx/model-io.js';
import type { ConstantEvaluator } from '../passes/convert/simplify/index.js';
import { createSession } from '../runtime/onnxruntime.js';
import { hostToTensorProto } from './host-tensors.js';

/** A {@link ConstantEvaluator} backed by onnxruntime-node (CPU). */
export function ortConstantEvaluator(): ConstantEvaluator {
  return async ({ model, outputs }) => {
    const session = await createSession(serializeModel(model), { label: 'constant folding', logLevel: 'fatal', graphOptimizationLevel: 'disabled' });
    try {
      const results = await session.run({}, outputs);
      return outputs.map((name) => hostToTensorProto(name, results[name]!));
    } finally {
      await session.release();
    }
  };
}
