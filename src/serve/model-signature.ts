/**
 * What the protocol shows of a loaded model: its inputs and outputs with V2
 * datatypes and shapes (dynamic dimensions as −1), and whether requests for
 * it can be batched along the first dimension.
 */
import { MlctlError } from '../common/errors.js';
import type { IoDim, IoMeta } from '../runtime/types.js';
import { datatypeOfDtype, type V2DatatypeInfo } from './datatypes.js';

/** One input or output as the server checks and reports it. */
export interface TensorSignature {
  name: string;
  datatype: V2DatatypeInfo;
  /** The model's dims: a size, a symbolic name, or null for an unnamed dynamic dim. */
  dims: readonly IoDim[];
  /** The protocol's shape: fixed sizes, −1 for every dynamic dimension. */
  shape: readonly number[];
}

/** A model's tensors as the server serves them. */
export interface ModelSignature {
  inputs: readonly TensorSignature[];
  outputs: readonly TensorSignature[];
  /**
   * True when every input and output has a dynamic first dimension (the same
   * symbol where named), so requests can be concatenated along it and the
   * outputs split back.
   */
  batchable: boolean;
}

function toSignature(meta: IoMeta, role: 'input' | 'output', label: string): TensorSignature {
  const datatype = datatypeOfDtype(meta.dtype);
  if (datatype === undefined) {
    const what = meta.dtype === 'non-tensor' ? 'is not a tensor (a sequence, map or optional)' : `has element type ${meta.dtype}`;
    throw new MlctlError('MLCTL_UNSUPPORTED', `cannot serve '${label}': its ${role} '${meta.name}' ${what}, which the KServe V2 protocol cannot carry`);
  }
  return {
    name: meta.name,
    datatype,
    dims: meta.shape,
    shape: meta.shape.map((dim) => (typeof dim === 'number' ? dim : -1)),
  };
}

function firstDimIsSharedBatch(tensors: readonly TensorSignature[]): boolean {
  const names = new Set<string>();
  for (const tensor of tensors) {
    const first = tensor.dims[0];
    if (tensor.dims.length === 0 || typeof first === 'number') return false;
    if (typeof first === 'string') names.add(first);
  }
  return names.size <= 1;
}

/**
 * The signature of a session's inputs and outputs.
 * @throws MlctlError MLCTL_UNSUPPORTED for an input or output the protocol cannot carry
 *   (int4, uint4, sequences, maps).
 */
export function modelSignature(inputs: readonly IoMeta[], outputs: readonly IoMeta[], label: string): ModelSignature {
  const inputSignatures = inputs.map((meta) => toSignature(meta, 'input', label));
  const outputSignatures = outputs.map((meta) => toSignature(meta, 'output', label));
  const all = [...inputSignatures, ...outputSignatures];
  return {
    inputs: inputSignatures,
    outputs: outputSignatures,
    batchable: inputSignatures.length > 0 && firstDimIsSharedBatch(all),
  };
}

/** `[-1, 64]`: a shape as messages show it. */
export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}
