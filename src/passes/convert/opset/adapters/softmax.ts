/**
 * Softmax, LogSoftmax and Hardmax at opset 13. Up to 12 they flatten the
 * input to 2-D at `axis` (default 1) and normalize each row; from 13 they
 * normalize along `axis` alone (default -1). The two agree when `axis` is the
 * last axis. Otherwise the 2-D view is kept explicitly,
 * Flatten(axis) → op(axis=-1) → Reshape(Shape(input)), which needs no shape.
 * Down, an axis that is not the last one is moved there with Transpose, which
 * needs the rank.
 */
import { attrInt } from '../../../../onnx/builder.js';
import { hasAttribute, inputAt, intAttribute, setAttribute } from '../attributes.js';
import type { NodeProto } from '../../../../onnx/types.js';
import type { AdapterContext } from '../types.js';
import { adapter, anchorOf, normalizeAxis, rankOf, registration, type AdapterRegistration } from './helpers.js';

const ops = ['Softmax', 'LogSoftmax', 'Hardmax'];

const coercionToAxis = adapter('2-D coercion → single axis', (node: NodeProto, context: AdapterContext) => {
  const axis = intAttribute(node, 'axis', 1);
  const rank = rankOf(node, 0, context);
  if (axis === -1 || (rank !== undefined && normalizeAxis(axis, rank) === rank - 1)) {
    context.note('where the axis is the last one, both versions mean the same: the node keeps its form');
    if (hasAttribute(node, 'axis')) return undefined;
    // Written out: the default changes from 1 to -1.
    setAttribute(node, 'axis', attrInt(axis));
    return [node];
  }
  const input = inputAt(node, 0);
  const output = node.output[0] ?? '';
  const anchor = anchorOf(node);
  const shape = context.freshName(`${anchor}_shape`);
  const rows = context.freshName(`${anchor}_rows`);
  const normalized = context.freshName(`${anchor}_rows_out`);
  const elemType = context.fact(input).elemType;
  context.declare(shape, { rank: 1 });
  context.declare(rows, { rank: 2, elemType });
  context.declare(normalized, { rank: 2, elemType });
  node.input = [rows];
  node.output = [normalized];
  setAttribute(node, 'axis', attrInt(-1));
  context.note(
    rank === undefined
      ? 'the input rank is unknown, so the 2-D view of opset 12 is kept: Flatten → op → Reshape'
      : 'the axis is not the last one, so the 2-D view of opset 12 is kept: Flatten → op → Reshape',
  );
  return [
    context.makeNode('Shape', [input], [shape], anchor),
    context.makeNode('Flatten', [input], [rows], anchor, { axis }),
    node,
    context.makeNode('Reshape', [normalized, shape], [output], anchor),
  ];
});

const axisToCoercion = adapter('single axis → 2-D coercion', (node: NodeProto, context: AdapterContext) => {
  const axis = intAttribute(node, 'axis', -1);
  const rank = rankOf(node, 0, context);
  if (axis === -1 || (rank !== undefined && normalizeAxis(axis, rank) === rank - 1)) {
    if (hasAttribute(node, 'axis')) return undefined;
    setAttribute(node, 'axis', attrInt(-1));
    return [node];
  }
  if (rank === undefined) {
    context.refuse(`it normalizes along axis ${axis} of an input whose rank is unknown, which opset ${context.toOpset} can express only along the last axis`);
  }
  // Swap the axis with the last one, normalize along the last, swap back.
  const perm = Array.from({ length: rank }, (_, index) => index);
  const moved = normalizeAxis(axis, rank);
  perm[moved] = rank - 1;
  perm[rank - 1] = moved;
  const input = inputAt(node, 0);
  const output = node.output[0] ?? '';
  const anchor = anchorOf(node);
  const swapped = context.freshName(`${anchor}_swapped`);
  const swappedOut = context.freshName(`${anchor}_swapped_out`);
  node.input = [swapped];
  node.output = [swappedOut];
  setAttribute(node, 'axis', attrInt(-1));
  return [
    context.makeNode('Transpose', [input], [swapped], anchor, { perm }),
    node,
    context.makeNode('Transpose', [swappedOut], [output], anchor, { perm }),
  ];
});

/** The adapters of this group. */
export const softmaxAdapters: readonly AdapterRegistration[] = [
  registration(ops, 13, 'up', coercionToAxis),
  registration(ops, 13, 'down', axisToCoercion),
];
