/**
 * The ONNX backend node tests shipped by Debian's libonnx-testdata: one
 * folder per test with `model.onnx` and `test_data_set_*` folders of
 * `input_N.pb` / `output_N.pb` tensors. This module converts each test model
 * to a target opset and checks the converted model against the expected
 * outputs, sorting every test into one outcome.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { decodeMessage } from '../../../../src/onnx/codec.js';
import { decodeModel } from '../../../../src/onnx/model-io.js';
import { opsetVersion } from '../../../../src/onnx/graph.js';
import type { ModelProto, TensorProto } from '../../../../src/onnx/types.js';
import { convertOpset, OpsetConversionError } from '../../../../src/passes/convert/opset/index.js';
import type { HostTensor } from '../../../../src/runtime/types.js';
import { outputsMismatch, runModel, tensorToHost } from './run-model.js';

import { backendTestDataDir } from './corpus.js';

/** The node tests' folder. */
export const nodeTestsDir = path.join(backendTestDataDir, 'node');

/** One test case: a model and its data sets. */
export interface NodeTest {
  name: string;
  dir: string;
  model: ModelProto;
  dataSets: { inputs: Record<string, HostTensor>; outputs: Record<string, HostTensor> }[];
}

/** How one test came out. */
export type NodeTestOutcome =
  | { kind: 'converted'; name: string; fromOpset: number }
  | { kind: 'refused'; name: string; fromOpset: number; reasons: string[] }
  | { kind: 'mismatch'; name: string; fromOpset: number; why: string }
  /**
   * onnxruntime disagrees with the expected outputs on the original model
   * already; the converted model gives the same outputs as the original.
   */
  | { kind: 'matchesOriginal'; name: string; fromOpset: number; why: string }
  /** The converted model is valid but onnxruntime has no kernel for an operator version it uses. */
  | { kind: 'ortLacksKernel'; name: string; fromOpset: number; why: string }
  /** The test's data cannot be fed through the runtime adapter (sequences, optionals, unsupported types). */
  | { kind: 'unfeedable'; name: string; why: string }
  /** onnxruntime fails on, or disagrees with, the original model already. */
  | { kind: 'ortFailsOriginal'; name: string; why: string };

function readTensor(file: string): TensorProto {
  return decodeMessage<TensorProto>('TensorProto', readFileSync(file));
}

/** Loads a node test; undefined when its data holds anything but tensors the runtime adapter takes. */
export function loadNodeTest(name: string): NodeTest | { unfeedable: string } {
  const dir = path.join(nodeTestsDir, name);
  const model = decodeModel(readFileSync(path.join(dir, 'model.onnx')), name);
  const graph = model.graph;
  if (graph === undefined) return { unfeedable: 'no graph' };
  const initializers = new Set(graph.initializer.map((tensor) => tensor.name));
  const inputs = graph.input.filter((info) => !initializers.has(info.name));
  for (const info of [...inputs, ...graph.output]) {
    if (info.type?.tensorType === undefined) return { unfeedable: `value '${info.name ?? ''}' is not a tensor` };
  }
  const dataSets: NodeTest['dataSets'] = [];
  for (const entry of readdirSync(dir).filter((file) => file.startsWith('test_data_set_')).sort()) {
    const setDir = path.join(dir, entry);
    const feeds: Record<string, HostTensor> = {};
    const expected: Record<string, HostTensor> = {};
    for (const [list, target, prefix] of [[inputs, feeds, 'input'], [graph.output, expected, 'output']] as const) {
      for (let index = 0; index < list.length; index++) {
        const file = path.join(setDir, `${prefix}_${index}.pb`);
        if (!existsSync(file)) return { unfeedable: `${entry}/${prefix}_${index}.pb missing` };
        const tensor = tensorToHost(readTensor(file));
        if (tensor === undefined) return { unfeedable: `${entry}/${prefix}_${index}.pb has a type the runtime adapter does not take` };
        target[list[index]?.name ?? ''] = tensor;
      }
    }
    dataSets.push({ inputs: feeds, outputs: expected });
  }
  return { name, dir, model, dataSets };
}

/** Every node test folder name. */
export function nodeTestNames(): string[] {
  return existsSync(nodeTestsDir) ? readdirSync(nodeTestsDir).filter((name) => name.startsWith('test_')).sort() : [];
}

/** Tests whose outputs are random: two runs of one model differ. */
const nondeterministic = /bernoulli|training_dropout/;

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** How a test converts its model: to an opset, or by any function of the model (a round trip). */
export type NodeTestConversion = number | ((model: ModelProto) => ModelProto);

/** Converts one node test's model and checks the result against the test's expected outputs. */
export async function runNodeTest(name: string, conversion: NodeTestConversion): Promise<NodeTestOutcome> {
  const test = loadNodeTest(name);
  if ('unfeedable' in test) return { kind: 'unfeedable', name, why: test.unfeedable };
  const fromOpset = opsetVersion(test.model, '') ?? 0;
  // The original must run in onnxruntime for the comparison to mean anything.
  const originalOutputs: Record<string, HostTensor>[] = [];
  let originalDisagrees: string | undefined;
  try {
    for (const set of test.dataSets) {
      const outputs = await runModel(test.model, set.inputs, name);
      originalOutputs.push(outputs);
      originalDisagrees ??= outputsMismatch(outputs, set.outputs);
    }
  } catch (error) {
    return { kind: 'ortFailsOriginal', name, why: describeError(error) };
  }
  if (originalDisagrees !== undefined && nondeterministic.test(name)) {
    return { kind: 'ortFailsOriginal', name, why: `random outputs, and the original disagrees: ${originalDisagrees}` };
  }
  let converted: ModelProto;
  try {
    converted = typeof conversion === 'number' ? convertOpset(test.model, conversion, { label: name }).model : conversion(test.model);
  } catch (error) {
    if (error instanceof OpsetConversionError) {
      return { kind: 'refused', name, fromOpset, reasons: error.failures.map((failure) => `${failure.opType}: ${failure.reason}`) };
    }
    throw error;
  }
  try {
    for (const [index, set] of test.dataSets.entries()) {
      // Where onnxruntime disagrees with ONNX already, the original's outputs are the reference.
      const reference = originalDisagrees === undefined ? set.outputs : (originalOutputs[index] ?? {});
      const why = outputsMismatch(await runModel(converted, set.inputs, name), reference);
      if (why !== undefined) return { kind: 'mismatch', name, fromOpset, why };
    }
  } catch (error) {
    const why = describeError(error);
    if (/Could not find an implementation for/.test(why)) return { kind: 'ortLacksKernel', name, fromOpset, why };
    return { kind: 'mismatch', name, fromOpset, why };
  }
  if (originalDisagrees !== undefined) return { kind: 'matchesOriginal', name, fromOpset, why: originalDisagrees };
  return { kind: 'converted', name, fromOpset };
}
