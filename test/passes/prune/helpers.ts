/**
 * Helpers for the prune tests: a small builder for networks with *dead*
 * channels (zero weights, zero bias, zero BatchNormalization shift), so that
 * removing exactly those channels must leave every output unchanged, and
 * runners over onnxruntime.
 */
import { expect } from 'vitest';
import { makeGraph, makeModel, makeNode, makeTensorValueInfo, type AttrValue, type DimSpec } from '../../../src/onnx/builder.js';
import { GraphIndex, isTopologicallySorted } from '../../../src/onnx/graph.js';
import { createTensor, tensorDims } from '../../../src/onnx/tensor.js';
import { DataType, type ModelProto, type NodeProto, type TensorProto, type ValueInfoProto } from '../../../src/onnx/types.js';
import { pruneModel, type PruneOptions, type PruneResult } from '../../../src/passes/prune/index.js';
import { measureAgreement, type Agreement } from '../../../src/verify/prune-agreement.js';
import { runSamples } from '../../../src/verify/prune-run.js';

/** Seeded values in [−amplitude, amplitude). */
export function seeded(count: number, seed: number, amplitude = 1): Float32Array {
  let state = (seed * 2654435761) >>> 0;
  return Float32Array.from({ length: count }, () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return (state / 2 ** 32 - 0.5) * 2 * amplitude;
  });
}

/** Zeroes the slices `channels` of `values` (dims `dims`) along `axis`. */
function zeroChannels(values: Float32Array, dims: readonly number[], axis: number, channels: readonly number[]): void {
  const size = dims[axis]!;
  const inner = dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const outer = dims.slice(0, axis).reduce((a, b) => a * b, 1);
  for (let o = 0; o < outer; o++) {
    for (const c of channels) values.fill(0, (o * size + c) * inner, (o * size + c + 1) * inner);
  }
}

export interface ConvSpec {
  out: number;
  /** Input channels of the activation. */
  in: number;
  kernel?: number;
  group?: number;
  bias?: boolean;
  stride?: number;
  /** Output channels whose weights and bias are zero. */
  dead?: readonly number[];
  name?: string;
}

/** Builds a model node by node; every weight is seeded, dead channels are zero. */
export class Net {
  readonly nodes: NodeProto[] = [];
  readonly initializers: TensorProto[] = [];
  private count = 0;

  private fresh(prefix: string): string {
    this.count += 1;
    return `${prefix}${this.count}`;
  }

  /** A float initializer of seeded values with `dead` slices along `axis` zeroed. */
  tensor(name: string, dims: number[], options: { amplitude?: number; dead?: readonly number[]; axis?: number; fill?: number } = {}): string {
    const count = dims.reduce((a, b) => a * b, 1);
    const values = options.fill === undefined ? seeded(count, this.initializers.length + 7, options.amplitude ?? 0.5) : new Float32Array(count).fill(options.fill);
    if (options.dead !== undefined) zeroChannels(values, dims, options.axis ?? 0, options.dead);
    this.initializers.push(createTensor(name, DataType.FLOAT, dims, values));
    return name;
  }

  int64(name: string, values: readonly number[]): string {
    this.initializers.push(createTensor(name, DataType.INT64, [values.length], values.map(BigInt)));
    return name;
  }

  node(opType: string, inputs: string[], attributes: Record<string, AttrValue> = {}, outputs = 1, name?: string): string {
    const nodeName = name ?? this.fresh(opType.toLowerCase());
    const outs = Array.from({ length: outputs }, (_, i) => (i === 0 ? `${nodeName}.out` : `${nodeName}.out${i}`));
    this.nodes.push(makeNode(opType, inputs, outs, attributes, { name: nodeName }));
    return outs[0]!;
  }

  conv(input: string, spec: ConvSpec): string {
    const name = spec.name ?? this.fresh('conv');
    const kernel = spec.kernel ?? 3;
    const group = spec.group ?? 1;
    const dead = spec.dead ?? [];
    const weight = this.tensor(`${name}.w`, [spec.out, spec.in / group, kernel, kernel], { dead });
    const inputs = [input, weight];
    if (spec.bias !== false) inputs.push(this.tensor(`${name}.b`, [spec.out], { dead, amplitude: 0.1 }));
    const attributes: Record<string, AttrValue> = { kernel_shape: [kernel, kernel], pads: Array(4).fill((kernel - 1) / 2) as number[] };
    if (group !== 1) attributes['group'] = group;
    if (spec.stride !== undefined) attributes['strides'] = [spec.stride, spec.stride];
    return this.node('Conv', inputs, attributes, 1, name);
  }

  /** BatchNormalization whose dead channels map 0 to 0 (shift and mean zero). */
  bn(input: string, channels: number, dead: readonly number[] = []): string {
    const name = this.fresh('bn');
    const scale = this.tensor(`${name}.scale`, [channels], { amplitude: 0.5 });
    const shift = this.tensor(`${name}.shift`, [channels], { amplitude: 0.1, dead });
    const mean = this.tensor(`${name}.mean`, [channels], { amplitude: 0.1, dead });
    const variance = this.tensor(`${name}.var`, [channels], { fill: 1.5 });
    return this.node('BatchNormalization', [input, scale, shift, mean, variance], {}, 1, name);
  }

  relu(input: string): string {
    return this.node('Relu', [input]);
  }

  /** Outputs given by name get a float type of unknown shape. */
  model(inputs: ValueInfoProto[], outputs: Array<string | ValueInfoProto>, options: { opset?: number; valueInfo?: ValueInfoProto[]; irVersion?: number } = {}): ModelProto {
    return makeModel({
      graph: makeGraph({
        name: 'net',
        nodes: this.nodes,
        inputs,
        outputs: outputs.map((output) => (typeof output === 'string' ? makeTensorValueInfo(output, DataType.FLOAT) : output)),
        initializers: this.initializers,
        valueInfo: options.valueInfo ?? [],
      }),
      opsets: { '': options.opset ?? 13 },
      ...(options.irVersion === undefined ? {} : { irVersion: options.irVersion }),
    });
  }
}

export function floatInput(name: string, shape: DimSpec[]): ValueInfoProto {
  return makeTensorValueInfo(name, DataType.FLOAT, shape);
}

/** The model with the named initializers moved into Constant nodes at the front, as PaddlePaddle exports keep weights. */
export function toConstantNodes(model: ModelProto, names: readonly string[]): ModelProto {
  const graph = model.graph!;
  const moved = graph.initializer.filter((t) => names.includes(t.name ?? ''));
  const constants = moved.map((t) => makeNode('Constant', [], [t.name ?? ''], { value: t }, { name: `${t.name ?? ''}.const` }));
  return {
    ...model,
    graph: { ...graph, node: [...constants, ...graph.node], initializer: graph.initializer.filter((t) => !moved.includes(t)) },
  };
}

/** Dims of an initializer of the model's main graph. */
export function initializerDims(model: ModelProto, name: string): number[] {
  const tensor = model.graph!.initializer.find((t) => t.name === name);
  expect(tensor, `initializer '${name}'`).toBeDefined();
  return tensorDims(tensor!);
}

/** An integer attribute of the node named `name`. */
export function nodeAttribute(model: ModelProto, name: string, attribute: string): number | undefined {
  const node = model.graph!.node.find((n) => n.name === name);
  const value = node?.attribute.find((a) => a.name === attribute)?.i;
  return value === undefined ? undefined : Number(value);
}

/** Outcome of {@link pruneAndRun}. */
export interface PrunedRun extends PruneResult {
  agreement: Agreement;
  /** Output dims of the pruned model, by name. */
  outputDims: Record<string, number[]>;
}

/**
 * Measures shapes by running `model`, prunes it, runs the result on the same
 * inputs, and checks the invariants every pruned model must satisfy.
 */
export async function pruneAndRun(model: ModelProto, options: PruneOptions, runOptions: { shapeOverrides?: Record<string, number[]> } = {}): Promise<PrunedRun> {
  const sampleOptions = { samples: 2, seed: 3, ...runOptions };
  const reference = await runSamples(model, { ...sampleOptions, measureShapes: true, label: 'original' });
  const result = pruneModel(model, { ...options, valueShapes: reference.shapes });
  expectWellFormed(result.model);
  const pruned = await runSamples(result.model, { ...sampleOptions, measureShapes: false, label: 'pruned' });
  const outputDims = Object.fromEntries(Object.entries(pruned.outputs[0]!).map(([name, tensor]) => [name, tensor.dims]));
  for (const [name, tensor] of Object.entries(reference.outputs[0]!)) expect(outputDims[name], `dims of output '${name}'`).toEqual(tensor.dims);
  return { ...result, agreement: measureAgreement(reference.outputs, pruned.outputs), outputDims };
}

/** Structural checks: sorted, single producers, every initializer read or listed, no dangling inputs. */
export function expectWellFormed(model: ModelProto): void {
  const graph = model.graph!;
  expect(isTopologicallySorted(graph)).toBe(true);
  const index = new GraphIndex(graph);
  for (const node of graph.node) {
    for (const name of node.input) {
      if (name === '') continue;
      expect(index.producer(name) !== undefined || index.isWeight(name) || index.inputNames.has(name), `'${name}' is defined`).toBe(true);
    }
  }
}
