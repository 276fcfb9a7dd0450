/**
 * Initializers with the same data type, dims and bytes are kept once
 * (exporters often repeat a shape vector or a scale per use). Candidates are
 * grouped by a cheap fingerprint, then compared byte for byte.
 */
import { isExternalTensor } from '../../../onnx/external-data.js';
import { tensorData } from '../../../onnx/tensor.js';
import type { GraphProto, TensorProto } from '../../../onnx/types.js';
import { renameUses } from './graph-edit.js';

/** The tensor's element bytes, or undefined for external, string and malformed tensors. */
function tensorBytes(tensor: TensorProto): Uint8Array | undefined {
  if (isExternalTensor(tensor)) return undefined;
  if (tensor.rawData !== undefined) return tensor.rawData;
  try {
    const values = tensorData(tensor);
    if (Array.isArray(values)) return undefined;
    return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  } catch {
    return undefined;
  }
}

/** FNV-1a over up to 64 evenly spread bytes plus the length: enough to tell most tensors apart cheaply. */
function fingerprint(tensor: TensorProto, bytes: Uint8Array): string {
  let hash = 0x811c9dc5;
  const step = Math.max(1, Math.floor(bytes.length / 64));
  for (let i = 0; i < bytes.length; i += step) hash = Math.imul(hash ^ bytes[i]!, 0x01000193);
  return `${tensor.dataType ?? 0}|${tensor.dims.join(',')}|${bytes.length}|${hash >>> 0}`;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Keeps the first of each set of identical initializers and points every
 * reader of the others at it. Initializers that are graph inputs or graph
 * outputs keep their names.
 * @returns the graph and how many initializers were removed.
 */
export function dedupeInitializers(graph: GraphProto): { graph: GraphProto; removed: number } {
  const pinned = new Set([...graph.input, ...graph.output].map((info) => info.name ?? ''));
  const groups = new Map<string, { tensor: TensorProto; bytes: Uint8Array }[]>();
  const renames = new Map<string, string>();
  for (const tensor of graph.initializer) {
    const name = tensor.name ?? '';
    if (name === '' || pinned.has(name)) continue;
    const bytes = tensorBytes(tensor);
    if (bytes === undefined) continue;
    const key = fingerprint(tensor, bytes);
    const group = groups.get(key) ?? [];
    const same = group.find((entry) => entry.tensor.dataType === tensor.dataType && sameBytes(entry.bytes, bytes));
    if (same !== undefined) renames.set(name, same.tensor.name!);
    else {
      group.push({ tensor, bytes });
      groups.set(key, group);
    }
  }
  if (renames.size === 0) return { graph, removed: 0 };
  return {
    graph: {
      ...graph,
      node: renameUses(graph.node, renames),
      initializer: graph.initializer.filter((tensor) => !renames.has(tensor.name ?? '')),
    },
    removed: renames.size,
  };
}
