/**
 * Identity nodes, and Dropout in inference mode (an identity when
 * `training_mode` is absent or a constant false and its mask is unused),
 * are removed by letting their consumers read the input directly. When the
 * node's output is a graph output, its producer is renamed instead, if that
 * can be done without touching the graph's interface.
 */
import { GraphIndex } from '../../../onnx/graph.js';
import { isDefaultDomain } from '../../../onnx/opset.js';
import type { GraphProto, NodeProto } from '../../../onnx/types.js';
import { intAttribute, readKnownValue } from '../shapes/node-attributes.js';
import type { ConstantTable } from './constants.js';
import { renameUses } from './graph-edit.js';

/** Whether a Dropout node passes its input through unchanged. */
function isInferenceDropout(node: NodeProto, constants: ConstantTable): boolean {
  if (node.output.length > 1 && node.output[1] !== '') return false;
  if (intAttribute(node, 'is_test') === 0) return false;
  const trainingMode = node.input[2] ?? '';
  if (trainingMode === '') return true;
  const tensor = constants.get(trainingMode);
  const value = tensor === undefined ? undefined : readKnownValue(tensor, 1);
  return value !== undefined && value.values[0] === 0;
}

/** Which pass-through nodes to remove. */
export interface PassThroughKinds {
  identity: boolean;
  dropout: boolean;
}

/** The nodes the pass can remove, with the value each one passes through. */
function passThroughs(graph: GraphProto, constants: ConstantTable, index: GraphIndex, kinds: PassThroughKinds): { node: NodeProto; from: string; to: string }[] {
  const found: { node: NodeProto; from: string; to: string }[] = [];
  for (const node of graph.node) {
    if (!isDefaultDomain(node.domain)) continue;
    const isIdentity = kinds.identity && node.opType === 'Identity' && node.input.length === 1;
    const isDropout = kinds.dropout && node.opType === 'Dropout' && isInferenceDropout(node, constants);
    if (!isIdentity && !isDropout) continue;
    const from = node.input[0] ?? '';
    const to = node.output[0] ?? '';
    if (from === '' || to === '') continue;
    if (isDropout && node.output.slice(1).some((name) => name !== '' && index.isUsed(name))) continue;
    found.push({ node, from, to });
  }
  return found;
}

/**
 * Removes pass-through nodes from one graph.
 * @returns the graph and how many Identity and Dropout nodes went.
 */
export function removePassThroughs(
  graph: GraphProto,
  constants: ConstantTable,
  kinds: PassThroughKinds = { identity: true, dropout: true },
): { graph: GraphProto; identities: number; dropouts: number } {
  const index = new GraphIndex(graph);
  const candidates = passThroughs(graph, constants, index, kinds);
  if (candidates.length === 0) return { graph, identities: 0, dropouts: 0 };

  const removed = new Set<NodeProto>();
  const inputRenames = new Map<string, string>();
  const outputRenames = new Map<string, string>();
  const claimedOutputs = new Set<string>();
  for (const { node, from, to } of candidates) {
    if (!index.isGraphOutput(to)) {
      inputRenames.set(to, from);
      removed.add(node);
      continue;
    }
    // `to` is a graph output: give its name to the producer of `from`, if `from` is an
    // ordinary node output of this graph that nothing else claims.
    const producer = index.producer(from);
    if (producer === undefined || index.isGraphOutput(from) || claimedOutputs.has(from) || inputRenames.has(from)) continue;
    if (candidates.some((c) => c.to === from)) continue;
    claimedOutputs.add(from);
    outputRenames.set(from, to);
    removed.add(node);
  }
  if (removed.size === 0) return { graph, identities: 0, dropouts: 0 };

  // Chains (a → Identity → b → Identity → c) resolve to the first input.
  const resolve = (name: string): string => {
    let current = name;
    for (let i = 0; i < 1000 && inputRenames.has(current); i++) current = inputRenames.get(current)!;
    return outputRenames.get(current) ?? current;
  };
  const renames = new Map<string, string>();
  for (const name of inputRenames.keys()) renames.set(name, resolve(name));
  for (const [from, to] of outputRenames) renames.set(from, to);

  const kept = graph.node.filter((node) => !removed.has(node));
  const node = renameUses(kept, renames).map((n) =>
    n.output.some((name) => outputRenames.has(name)) ? { ...n, output: n.output.map((name) => outputRenames.get(name) ?? name) } : n);
  let identities = 0;
  let dropouts = 0;
  for (const n of removed) {
    if (n.opType === 'Identity') identities += 1;
    else dropouts += 1;
  }
  return { graph: { ...graph, node }, identities, dropouts };
}
