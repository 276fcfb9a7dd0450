/**
 * Which operators static quantization wraps in QuantizeLinear/DequantizeLinear,
 * and how: the operators ONNX Runtime's QDQ optimizer turns into integer
 * kernels (QLinearConv, QLinearMatMul, QGemm, QLinearAdd, QLinearMul,
 * QLinearConcat, QLinearSigmoid, QLinearGlobalAveragePool, ...) or runs on
 * 8-bit data directly (MaxPool, Reshape, Transpose, Resize, ...).
 */

/**
 * - `anchor`: an integer matrix product with a constant weight (Conv, MatMul,
 *   Gemm). Weights int8 per channel, bias int32, activations quantized.
 * - `independent`: an operator whose output gets its own scale and zero point
 *   from calibration (Add, Mul, Concat, pooling, Sigmoid, Softmax, ...).
 * - `same-as-input`: an operator that moves or selects values; its output
 *   reuses the input's scale and zero point, which is what ONNX Runtime needs
 *   to drop the DequantizeLinear/QuantizeLinear around it.
 * - `removable`: Relu and Clip. Right after an operator with its own output
 *   quantization they are dropped and their range used for that output: the
 *   QuantizeLinear clamps at the same bounds.
 */
export type OpRole = 'anchor' | 'independent' | 'same-as-input' | 'removable';

interface OpRule {
  readonly role: OpRole;
  /**
   * Inputs that carry data to quantize (others, such as a Reshape's shape or
   * Resize's scales, are left alone); 'all' for variadic operators.
   */
  readonly dataInputs: readonly number[] | 'all';
  /** Outputs that carry data (others, such as MaxPool's indices, must be unused). */
  readonly dataOutputs: readonly number[] | 'all';
}

const rules: Readonly<Record<string, OpRule>> = {
  Conv: { role: 'anchor', dataInputs: [0], dataOutputs: [0] },
  MatMul: { role: 'anchor', dataInputs: [0], dataOutputs: [0] },
  Gemm: { role: 'anchor', dataInputs: [0], dataOutputs: [0] },
  Add: { role: 'independent', dataInputs: [0, 1], dataOutputs: [0] },
  Mul: { role: 'independent', dataInputs: [0, 1], dataOutputs: [0] },
  Concat: { role: 'independent', dataInputs: 'all', dataOutputs: [0] },
  AveragePool: { role: 'independent', dataInputs: [0], dataOutputs: [0] },
  GlobalAveragePool: { role: 'independent', dataInputs: [0], dataOutputs: [0] },
  Sigmoid: { role: 'independent', dataInputs: [0], dataOutputs: [0] },
  LeakyRelu: { role: 'independent', dataInputs: [0], dataOutputs: [0] },
  Softmax: { role: 'independent', dataInputs: [0], dataOutputs: [0] },
  MaxPool: { role: 'same-as-input', dataInputs: [0], dataOutputs: [0] },
  Reshape: { role: 'same-as-input', dataInputs: [0], dataOutputs: [0] },
  Flatten: { role: 'same-as-input', dataInputs: [0], dataOutputs: [0] },
  Transpose: { role: 'same-as-input', dataInputs: [0], dataOutputs: [0] },
  Squeeze: { role: 'same-as-input', dataInputs: [0], dataOutputs: [0] },
  Unsqueeze: { role: 'same-as-input', dataInputs: [0], dataOutputs: [0] },
  Resize: { role: 'same-as-input', dataInputs: [0], dataOutputs: [0] },
  Slice: { role: 'same-as-input', dataInputs: [0], dataOutputs: [0] },
  DepthToSpace: { role: 'same-as-input', dataInputs: [0], dataOutputs: [0] },
  SpaceToDepth: { role: 'same-as-input', dataInputs: [0], dataOutputs: [0] },
  Relu: { role: 'removable', dataInputs: [0], dataOutputs: [0] },
  Clip: { role: 'removable', dataInputs: [0], dataOutputs: [0] },
};

/** Operator types static quantization handles (default domain only). */
export const staticOpTypes: readonly string[] = Object.keys(rules);

/** The rule for an operator type, or undefined when static quantization leaves it alone. */
export function opRule(opType: string): OpRule | undefined {
  return Object.hasOwn(rules, opType) ? rules[opType] : undefined;
}

/** Indices of the data inputs of a node with `inputCount` inputs (empty names included). */
export function dataInputIndices(rule: OpRule, inputCount: number): number[] {
  if (rule.dataInputs === 'all') return Array.from({ length: inputCount }, (_, i) => i);
  return rule.dataInputs.filter((index) => index < inputCount);
}

/** Indices of the data outputs of a node with `outputCount` outputs. */
export function dataOutputIndices(rule: OpRule, outputCount: number): number[] {
  if (rule.dataOutputs === 'all') return Array.from({ length: outputCount }, (_, i) => i);
  return rule.dataOutputs.filter((index) => index < outputCount);
}
