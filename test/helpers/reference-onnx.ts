/**
 * An independent decoder for cross-checking mlctl's own codec in tests:
 * protobufjs reading the same onnx.proto. Only the fields tests need are typed.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import protobuf from 'protobufjs';
import { repoRoot } from './paths.js';

/** A node as protobufjs decodes it (absent repeated fields may be missing). */
export interface ReferenceNode {
  opType?: string;
  domain?: string;
  attribute?: { name?: string; g?: ReferenceGraph; graphs?: ReferenceGraph[]; t?: ReferenceTensor }[];
}

/** A tensor as protobufjs decodes it; int64 fields as decimal strings. */
export interface ReferenceTensor {
  name?: string;
  dims?: string[];
  dataType?: number;
}

/** A value info as protobufjs decodes it. */
export interface ReferenceValueInfo {
  name?: string;
  type?: { tensorType?: { elemType?: number; shape?: { dim?: { dimValue?: string; dimParam?: string }[] } } };
}

/** A graph as protobufjs decodes it. */
export interface ReferenceGraph {
  name?: string;
  node?: ReferenceNode[];
  initializer?: ReferenceTensor[];
  input?: ReferenceValueInfo[];
  output?: ReferenceValueInfo[];
}

/** A model as protobufjs decodes it. */
export interface ReferenceModel {
  irVersion?: string;
  opsetImport?: { domain?: string; version?: string }[];
  graph?: ReferenceGraph;
  functions?: { node?: ReferenceNode[] }[];
}

let modelType: protobuf.Type | undefined;

/** Decodes an ONNX file with protobufjs (int64 as strings, no defaults filled in). */
export function decodeReferenceModel(file: string): ReferenceModel {
  modelType ??= protobuf.loadSync(path.join(repoRoot, 'src/onnx/onnx.proto')).lookupType('onnx.ModelProto');
  const message = modelType.decode(readFileSync(file));
  return modelType.toObject(message, { longs: String, defaults: false }) as ReferenceModel;
}

/** Calls `visit` on every node of a graph and of its subgraphs, depth first. */
export function walkReferenceNodes(graph: ReferenceGraph, visit: (node: ReferenceNode) => void): void {
  for (const node of graph.node ?? []) {
    visit(node);
    for (const attribute of node.attribute ?? []) {
      if (attribute.g !== undefined) walkReferenceNodes(attribute.g, visit);
      for (const sub of attribute.graphs ?? []) walkReferenceNodes(sub, visit);
    }
  }
}
