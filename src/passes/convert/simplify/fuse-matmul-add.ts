/**
 * MatMul followed by Add of a constant becomes one Gemm, where Gemm can
 * express it: A is 2-D, B a constant 2-D matrix, and the added constant
 * broadcasts to the [M, N] result in one direction (a bias of [N], [1, N]
 * or [M, N]). ONNX Runtime fuses this too, but only at load time; other
 * runtimes and compilers get one operator instead of two.
 */
import type { UniqueNameGenerator } from '../../../onnx/graph.js';
import { GraphIndex } from '../../../onnx/graph.js';
import { isDefaultDomain } from '../../../onnx/opset.js';
import { DataType, type GraphProto, type NodeProto } from '../../../onnx/types.js';
import type { GraphTypes } from '../shapes/types.js';
import type { ConstantTable } from './constants.js';

const gemmTypes = new Set<number>([DataType.FLOAT, DataType.FLOAT16, DataType.DOUBLE]);

/** Whether a bias of `dims` broadcasts to [m, n] without growing anything else. */
function biasFits(dims: readonly bigint[], m: number | string | null, n: number): boolean {
  if (dims.length > 2) return false;
  const last = dims[dims.length - 1];
  if (last !== undefined && last !== 1n && last !== BigInt(n)) return false;
  if (dims.length === 2) {
    const first = dims[0]!;
    if (first !== 1n && !(typeof m === 'number' && first === BigInt(m))) return false;
  }
  return true;
}

/**
 * Replaces each legal MatMul + Add pair of one graph by a Gemm.
 * @param opset - default-domain opset (Gemm broadcasts its bias from opset 7).
 * @returns the graph and how many pairs were fused.
 */
export function fuseMatMulAdd(graph: GraphProto, constants: ConstantTable, types: GraphTypes, opset: number, names: UniqueNameGenerator): { graph: GraphProto; fused: number } {
  if (opset < 7) return { graph, fused: 0 };
  const index = new GraphIndex(graph);
  const replaced = new Map<NodeProto, NodeProto>();
  const removed = new Set<NodeProto>();
  for (const add of graph.node) {
    if (add.opType !== 'Add' || !isDefaultDomain(add.domain) || add.input.length !== 2) continue;
    for (const side of [0, 1]) {
      const product = add.input[side]!;
      const bias = add.input[1 - side]!;
      const matmul = index.producer(product)?.node;
      if (matmul === undefined || matmul.opType !== 'MatMul' || !isDefaultDomain(matmul.domain) || replaced.has(matmul)) continue;
      if (index.isGraphOutput(product) || index.consumers(product).length !== 1 || index.subgraphUsers(product).length > 0) continue;
      const a = types.type(matmul.input[0] ?? '');
      const b = constants.get(matmul.input[1] ?? '');
      const c = constants.get(bias);
      if (a?.dims?.length !== 2 || b === undefined || c === undefined || b.dims.length !== 2) continue;
      if (!gemmTypes.has(b.dataType ?? 0) || b.dataType !== c.dataType || a.elemType !== b.dataType) continue;
      if (!biasFits(c.dims, a.dims[0]!, Number(b.dims[1]))) continue;
      const name = matmul.name !== undefined && matmul.name !== '' ? matmul.name : names.next('Gemm');
      replaced.set(matmul, { ...matmul, name, opType: 'Gemm', input: [matmul.input[0]!, matmul.input[1]!, bias], output: [add.output[0]!] });
      removed.add(add);
      break;
    }
  }
  if (replaced.size === 0) return { graph, fused: 0 };
  const node = graph.node.filter((n) => !removed.has(n)).map((n) => replaced.get(n) ?? n);
  return { graph: { ...graph, node }, fused: replaced.size };
}
