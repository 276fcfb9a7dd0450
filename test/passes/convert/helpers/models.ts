/**
 * Small models for the opset adapter tests: one node (or a few) with typed
 * inputs and outputs, and helpers to look into converted models.
 */
import { expect } from 'vitest';
import { makeGraph, makeModel, makeTensorValueInfo, type DimSpec } from '../../../../src/onnx/builder.js';
import { tensorData } from '../../../../src/onnx/tensor.js';
import { DataType, type AttributeProto, type GraphProto, type ModelProto, type NodeProto, type TensorProto, type ValueInfoProto } from '../../../../src/onnx/types.js';
import { constantNodeValue } from '../../../../src/passes/convert/opset/value-facts.js';
import { convertOpset } from '../../../../src/passes/convert/opset/index.js';
import type { OpsetConversionReport } from '../../../../src/passes/convert/opset/index.js';
import type { HostTensor } from '../../../../src/runtime/types.js';
import { outputsMismatch, runModel } from './run-model.js';

/** A float32 value info. */
export function f32(name: string, shape?: readonly DimSpec[]): ValueInfoProto {
  return makeTensorValueInfo(name, DataType.FLOAT, shape);
}

/** A model of `nodes` at default-domain opset `opset`. */
export function modelOf(
  opset: number,
  nodes: readonly NodeProto[],
  inputs: readonly ValueInfoProto[],
  outputs: readonly ValueInfoProto[],
  initializers: readonly TensorProto[] = [],
  options: { irVersion?: number; valueInfo?: readonly ValueInfoProto[] } = {},
): ModelProto {
  return makeModel({
    opsets: { '': opset },
    ...(options.irVersion === undefined ? {} : { irVersion: options.irVersion }),
    graph: makeGraph({ name: 'test', nodes, inputs, outputs, initializers, ...(options.valueInfo === undefined ? {} : { valueInfo: options.valueInfo }) }),
  });
}

/** A float32 host tensor of `dims` filled with a fixed, varied pattern (never two equal neighbours). */
export function floats(dims: readonly number[], offset = 0): HostTensor & { dtype: 'float32'; data: Float32Array } {
  const count = dims.reduce((product, dim) => product * dim, 1);
  const data = Float32Array.from({ length: count }, (_, index) => Math.sin(index * 1.7 + offset) * 3 + index * 0.01);
  return { dtype: 'float32', dims: [...dims], data };
}

/** The nodes of a graph, as `opType`s, in order. */
export function opTypes(graph: GraphProto | undefined): string[] {
  return (graph?.node ?? []).map((node) => node.opType ?? '');
}

/** The single node of `graph` with `opType`. */
export function onlyNode(graph: GraphProto | undefined, opType: string): NodeProto {
  const found = (graph?.node ?? []).filter((node) => node.opType === opType);
  expect(found, `one ${opType} node`).toHaveLength(1);
  return found[0] as NodeProto;
}

/** An attribute of `node`, or undefined. */
export function attributeOf(node: NodeProto, name: string): AttributeProto | undefined {
  return node.attribute.find((attribute) => attribute.name === name);
}

/** The names of `node`'s attributes, sorted. */
export function attributeNames(node: NodeProto): string[] {
  return node.attribute.map((attribute) => attribute.name ?? '').sort();
}

/** The values of a constant value (an initializer or a Constant node's output) of `graph`, as numbers. */
export function constantValues(graph: GraphProto | undefined, name: string): number[] {
  const initializer = graph?.initializer.find((tensor) => tensor.name === name);
  const constant = initializer ?? graph?.node.map(constantNodeValue).find((tensor, index) => tensor !== undefined && graph.node[index]?.output[0] === name);
  if (constant === undefined) throw new Error(`'${name}' is not a constant of graph '${graph?.name ?? ''}'`);
  return Array.from(tensorData(constant) as ArrayLike<number | bigint>, Number);
}

/** The dims of a constant value of `graph`. */
export function constantDims(graph: GraphProto | undefined, name: string): number[] {
  const tensor = graph?.initializer.find((entry) => entry.name === name);
  if (tensor === undefined) throw new Error(`'${name}' is not an initializer`);
  return tensor.dims.map(Number);
}

/**
 * Converts `model` to `target`, runs both in onnxruntime on `feeds`, expects
 * equal outputs (within `tolerance`), and returns the converted model.
 */
export async function convertAndCompare(
  model: ModelProto,
  target: number,
  feeds: Record<string, HostTensor>,
  tolerance = 1e-6,
): Promise<{ model: ModelProto; report: OpsetConversionReport }> {
  const converted = convertOpset(model, target);
  const before = await runModel(model, feeds, 'original');
  const after = await runModel(converted.model, feeds, 'converted');
  expect(outputsMismatch(after, before, tolerance, tolerance)).toBeUndefined();
  return converted;
}

/** The OpsetConversionError failures' reasons of converting `model` to `target`. */
export function refusalReasons(model: ModelProto, target: number): string[] {
  try {
    convertOpset(model, target);
  } catch (error) {
    const failures = (error as { failures?: { reason: string }[] }).failures;
    if (failures !== undefined) return failures.map((failure) => failure.reason);
    throw error;
  }
  throw new Error(`converting to opset ${target} did not fail`);
}
