/**
 * An If whose condition is a constant is replaced by the branch it always
 * takes, as onnxoptimizer's `eliminate_if_with_const_cond` does. Such Ifs
 * are common in exported models once shapes are fixed: `If(Equal(Shape(x)[0],
 * 1))` becomes constant after `--shape` and constant folding.
 *
 * The branch's nodes move into the enclosing graph where the If was, its
 * initializers become constants there, and each If output is an Identity of
 * the branch output (the remove-identity step then drops most of them). No
 * name is changed: a branch is inlined only when none of the names it
 * defines occurs anywhere in the model outside the If, so moving them cannot
 * clash with or capture another value. Models exported in SSA form always
 * pass; the others keep their If.
 */
import { makeNode } from '../../../onnx/builder.js';
import { isDefaultDomain } from '../../../onnx/opset.js';
import type { GraphProto, ModelProto, NodeProto } from '../../../onnx/types.js';
import { readKnownValue } from '../shapes/node-attributes.js';
import { addConstants, type ConstantTable } from './constants.js';

/** How often each name occurs in a graph tree (definitions and uses), skipping the subgraphs of `skip`. */
function countNames(graph: GraphProto, counts: Map<string, number>, skip: NodeProto | undefined): void {
  const add = (name: string | undefined): void => {
    if (name !== undefined && name !== '') counts.set(name, (counts.get(name) ?? 0) + 1);
  };
  for (const info of [...graph.input, ...graph.output, ...graph.valueInfo]) add(info.name);
  for (const tensor of graph.initializer) add(tensor.name);
  for (const sparse of graph.sparseInitializer) add(sparse.values?.name);
  for (const node of graph.node) {
    for (const name of [...node.input, ...node.output]) add(name);
    if (node === skip) continue;
    for (const attribute of node.attribute) {
      if (attribute.g !== undefined) countNames(attribute.g, counts, skip);
      for (const g of attribute.graphs) countNames(g, counts, skip);
    }
  }
}

/** The names a branch defines: its inputs, initializers and node outputs, in nested subgraphs too. */
function definedNames(graph: GraphProto, into: Set<string>): Set<string> {
  for (const info of graph.input) if (info.name) into.add(info.name);
  for (const tensor of graph.initializer) if (tensor.name) into.add(tensor.name);
  for (const node of graph.node) {
    for (const name of node.output) if (name) into.add(name);
    for (const attribute of node.attribute) {
      if (attribute.g !== undefined) definedNames(attribute.g, into);
      for (const g of attribute.graphs) definedNames(g, into);
    }
  }
  return into;
}

/** The branch an If with a constant condition always takes, or why it stays. */
function takenBranch(node: NodeProto, constants: ConstantTable): { branch: GraphProto } | { reason: string } | undefined {
  const condition = constants.get(node.input[0] ?? '');
  if (condition === undefined) return undefined;
  const known = readKnownValue(condition, 1);
  if (known === undefined || known.values.length !== 1) return undefined;
  const name = known.values[0] !== 0 ? 'then_branch' : 'else_branch';
  const branch = node.attribute.find((a) => a.name === name)?.g;
  if (branch === undefined) return { reason: `its ${name} is missing` };
  if (branch.sparseInitializer.length > 0) return { reason: `its ${name} has sparse initializers` };
  if (branch.input.length > 0) return { reason: `its ${name} declares inputs, which an If branch may not have` };
  if (branch.output.length !== node.output.length) return { reason: `its ${name} has ${branch.output.length} outputs for the If's ${node.output.length}` };
  return { branch };
}

/** An If node of `graph` that was not inlined, and why. */
export interface IfSkip {
  node: string;
  reason: string;
}

/**
 * Inlines the Ifs with a constant condition of one graph of `model` (see the
 * module comment). `model` is the whole current model, used to check that
 * the moved names occur nowhere else.
 * @param asInitializers - whether branch initializers may become initializers of `graph` (IR 4 on), else Constant nodes.
 */
export function inlineConstantIfs(
  graph: GraphProto,
  model: ModelProto,
  constants: ConstantTable,
  asInitializers: boolean,
): { graph: GraphProto; inlined: number; skipped: IfSkip[] } {
  const skipped: IfSkip[] = [];
  let inlined = 0;
  const node: NodeProto[] = [];
  let constantsToAdd: Parameters<typeof addConstants>[2] = [];
  let valueInfo = graph.valueInfo;
  for (const candidate of graph.node) {
    const taken = candidate.opType === 'If' && isDefaultDomain(candidate.domain) ? takenBranch(candidate, constants) : undefined;
    if (taken === undefined || 'reason' in taken) {
      if (taken !== undefined) skipped.push({ node: candidate.name || candidate.output[0] || 'If', reason: taken.reason });
      node.push(candidate);
      continue;
    }
    const { branch } = taken;
    const outside = new Map<string, number>();
    if (model.graph !== undefined) countNames(model.graph, outside, candidate);
    const clash = [...definedNames(branch, new Set())].find((name) => (outside.get(name) ?? 0) > 0);
    if (clash !== undefined) {
      skipped.push({ node: candidate.name || candidate.output[0] || 'If', reason: `its branch defines '${clash}', a name used elsewhere in the model` });
      node.push(candidate);
      continue;
    }
    node.push(...branch.node);
    branch.output.forEach((output, i) => {
      const target = candidate.output[i] ?? '';
      if (target !== '') node.push(makeNode('Identity', [output.name ?? ''], [target], {}, { name: `${candidate.name || target}_inlined_${i}` }));
    });
    constantsToAdd = [...constantsToAdd, ...branch.initializer.map((tensor) => ({ name: tensor.name ?? '', tensor, nodeName: `${tensor.name ?? ''}_inlined` }))];
    valueInfo = [...valueInfo, ...branch.valueInfo];
    inlined += 1;
  }
  if (inlined === 0) return { graph, inlined, skipped };
  return { graph: addConstants({ ...graph, node, valueInfo }, asInitializers, constantsToAdd), inlined, skipped };
}
