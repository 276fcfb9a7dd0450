/**
 * Removing the Casts a float16 conversion leaves behind: Casts to the type
 * their input already has, and pairs Cast(a → T1) → Cast(→ T2) whose middle
 * value nothing else reads, which become one Cast(a → T2) (or nothing, when
 * `a` already is T2). Pairs are only merged when at least one Cast was made
 * or retyped by the conversion: a float32 → float16 → float32 pair the
 * original model holds on purpose (to round) is kept.
 */
import { nodeUsedNames } from '../../../onnx/graph.js';
import { isDefaultDomain } from '../../../onnx/opset.js';
import { DataType, type NodeProto } from '../../../onnx/types.js';
import { intAttribute } from '../shapes/node-attributes.js';
import { renameUses, resolveRename } from '../simplify/graph-edit.js';

const floatTypes = new Set<number>([DataType.FLOAT, DataType.FLOAT16, DataType.DOUBLE, DataType.BFLOAT16]);

function isCast(node: NodeProto): boolean {
  return node.opType === 'Cast' && isDefaultDomain(node.domain) && node.input.length === 1 && node.output.length === 1;
}

/** The result of {@link cleanUpCasts}. */
export interface CastCleanup {
  nodes: NodeProto[];
  /** Cast nodes removed. */
  removed: number;
}

/**
 * Cleans up one graph's node list.
 * @param graphOutputs - names the graph outputs (they must keep their producer).
 * @param typeOf - the element type of a value after conversion, when known.
 * @param eligible - Casts made or retyped by the conversion; grows as pairs merge.
 */
export function cleanUpCasts(
  nodes: readonly NodeProto[],
  graphOutputs: ReadonlySet<string>,
  typeOf: (name: string) => number | undefined,
  eligible: Set<NodeProto>,
): CastCleanup {
  let current = [...nodes];
  let removed = 0;
  for (;;) {
    const renames = new Map<string, string>();
    const dropped = new Set<NodeProto>();
    for (const node of current) {
      if (!isCast(node) || graphOutputs.has(node.output[0]!)) continue;
      const source = resolveRename(renames, node.input[0]!);
      if (typeOf(source) !== undefined && typeOf(source) === intAttribute(node, 'to')) {
        renames.set(node.output[0]!, source);
        dropped.add(node);
      }
    }
    if (dropped.size > 0) {
      removed += dropped.size;
      const kept = current.filter((node) => !dropped.has(node));
      const renamed = renameUses(kept, renames);
      // Renaming makes new node objects: carry eligibility over to them.
      renamed.forEach((node, i) => {
        if (node !== kept[i] && eligible.has(kept[i]!)) eligible.add(node);
      });
      current = renamed;
      continue;
    }

    const uses = new Map<string, number>();
    for (const node of current) for (const name of nodeUsedNames(node)) uses.set(name, (uses.get(name) ?? 0) + 1);
    const producer = new Map<string, NodeProto>();
    for (const node of current) for (const name of node.output) if (name !== '') producer.set(name, node);
    let merged: { first: NodeProto; second: NodeProto } | undefined;
    for (const second of current) {
      if (!isCast(second)) continue;
      const middle = second.input[0]!;
      const first = producer.get(middle);
      if (first === undefined || !isCast(first) || graphOutputs.has(middle) || uses.get(middle) !== 1) continue;
      if (!floatTypes.has(intAttribute(first, 'to') ?? 0)) continue;
      if (!eligible.has(first) && !eligible.has(second)) continue;
      merged = { first, second };
      break;
    }
    if (merged === undefined) return { nodes: current, removed };
    const replacement: NodeProto = { ...merged.second, input: [merged.first.input[0]!] };
    eligible.add(replacement);
    current = current.filter((node) => node !== merged!.first).map((node) => (node === merged!.second ? replacement : node));
    removed += 1;
  }
}
