/**
 * Multiply-accumulate counts of the main graph's Conv, ConvTranspose, Gemm
 * and MatMul nodes, from value shapes (measured by running the model once,
 * or declared in it). Other operators are not counted: in convolutional and
 * dense networks these dominate the arithmetic.
 */
import { GraphIndex } from '../../onnx/graph.js';
import type { GraphProto } from '../../onnx/types.js';
import type { ValueShapes } from './types.js';
import { dimsOf, nodeLabel, resolveConstant, sparseConstantValue } from './weights.js';

/** MACs of one node. */
export interface NodeMacs {
  node: string;
  opType: string;
  macs: number;
}

export interface MacReport {
  /** Sum over the counted nodes. */
  total: number;
  nodes: NodeMacs[];
  /** Nodes of a counted type whose shapes were unknown (not in the total). */
  uncounted: string[];
}

const countedOps = new Set(['Conv', 'ConvTranspose', 'Gemm', 'MatMul']);

function product(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

/**
 * Counts MACs: Conv = output elements × (C_in / group) × kernel size;
 * ConvTranspose = input elements × (C_out / group) × kernel size; Gemm and
 * MatMul = output elements × the contracted dimension.
 */
export function countMacs(graph: GraphProto, shapes: ValueShapes): MacReport {
  const index = new GraphIndex(graph);
  const shapeOf = (name: string): readonly number[] | undefined => {
    const measured = shapes.get(name);
    if (measured !== undefined) return measured;
    const constant = resolveConstant(index, name);
    if (constant !== undefined) return dimsOf(constant.tensor);
    const sparse = index.sparseInitializer(name) ?? sparseConstantValue(index.producer(name)?.node);
    if (sparse !== undefined) return sparse.dims.map(Number);
    const dims = index.valueInfo(name)?.type?.tensorType?.shape?.dim;
    return dims === undefined || dims.some((d) => d.dimValue === undefined) ? undefined : dims.map((d) => Number(d.dimValue));
  };
  const report: MacReport = { total: 0, nodes: [], uncounted: [] };
  graph.node.forEach((node, nodeIndex) => {
    const opType = node.opType ?? '';
    if (!countedOps.has(opType) || (node.domain ?? '') !== '') return;
    const label = nodeLabel(node, nodeIndex);
    const input = shapeOf(node.input[0] ?? '');
    const weight = shapeOf(node.input[1] ?? '');
    const output = shapeOf(node.output[0] ?? '');
    let macs: number | undefined;
    if (opType === 'Conv' && output !== undefined && weight !== undefined) macs = product(output) * product(weight.slice(1));
    else if (opType === 'ConvTranspose' && input !== undefined && weight !== undefined) macs = product(input) * product(weight.slice(1));
    else if (opType === 'Gemm' && input !== undefined && output !== undefined && input.length === 2) {
      const transA = node.attribute.find((a) => a.name === 'transA')?.i ?? 0n;
      macs = product(output) * input[transA === 0n ? 1 : 0]!;
    } else if (opType === 'MatMul' && input !== undefined && output !== undefined && input.length > 0) {
      macs = product(output) * input[input.length - 1]!;
    }
    if (macs === undefined) report.uncounted.push(label);
    else {
      report.nodes.push({ node: label, opType, macs });
      report.total += macs;
    }
  });
  return report;
}
