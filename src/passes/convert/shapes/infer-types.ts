/**
 * Element type and shape inference over a graph and its subgraphs, with the
 * per-operator rules of op-rules-*.ts and the value tracking of
 * value-rules.ts. Inference never throws on a model it does not understand:
 * an operator without a rule (or whose rule cannot decide) falls back on the
 * model's own value_info, and otherwise its outputs are unknown.
 */
import { isDefaultDomain } from '../../../onnx/opset.js';
import { nodeSubgraphs, opsetVersion, topologicalSortNodes } from '../../../onnx/graph.js';
import type { GraphProto, ModelProto, NodeProto, TypeProto, ValueInfoProto } from '../../../onnx/types.js';
import { findAttribute, readKnownValue } from './node-attributes.js';
import { elementwiseRules } from './op-rules-elementwise.js';
import { nnRules } from './op-rules-nn.js';
import { tensorRules } from './op-rules-tensor.js';
import { mergeShapes, typed, unknownType, type RuleContext, type ShapeRule } from './rule-context.js';
import { MAX_KNOWN_VALUE_ELEMENTS, type Dim, type GraphTypes, type KnownValue, type ValueType } from './types.js';
import { valueRules } from './value-rules.js';

const shapeRules: Record<string, ShapeRule> = { ...elementwiseRules, ...nnRules, ...tensorRules };

/** Operators inference has a rule for (default domain). */
export function hasShapeRule(opType: string): boolean {
  return Object.hasOwn(shapeRules, opType);
}

/** Options of {@link inferGraphTypes}. */
export interface InferOptions {
  /** Default-domain opset version of the model. */
  opset: number;
  /** Types of the enclosing graph, for subgraphs. */
  outer?: GraphTypes;
  /**
   * Use the dims the model declares in value_info and graph outputs where
   * inference cannot decide (default true). Turn off when the input shapes
   * changed, so that declared dims may be stale; declared element types are
   * still used.
   */
  trustDeclaredShapes?: boolean;
  /** Overrides of graph input types, by name (used by `--shape`). */
  inputTypes?: ReadonlyMap<string, ValueType>;
  /**
   * Whether an initializer also listed in `graph.input` may be overridden by
   * a feed, and so has no known value (default true). Before IR 4 every
   * initializer had to be listed as an input and is a constant, as ONNX
   * Runtime treats it.
   */
  overridableInitializers?: boolean;
}

/** The result of {@link inferModelTypes}: types of the main graph and of every subgraph. */
export interface ModelTypes {
  main: GraphTypes;
  /** Types of each subgraph (If branches, Loop and Scan bodies) of the main graph, at any depth. */
  subgraphs: ReadonlyMap<GraphProto, GraphTypes>;
}

/** A ValueInfoProto's tensor type as a ValueType. */
export function declaredType(info: ValueInfoProto | undefined): ValueType | undefined {
  return typeProtoToValueType(info?.type);
}

function typeProtoToValueType(type: TypeProto | undefined): ValueType | undefined {
  const tensor = type?.tensorType;
  if (tensor === undefined) return undefined;
  const dims = tensor.shape?.dim.map((dim): Dim => {
    if (dim.dimValue !== undefined && dim.dimValue >= 0n) return Number(dim.dimValue);
    if (dim.dimParam !== undefined && dim.dimParam !== '') return dim.dimParam;
    return null;
  });
  return { elemType: tensor.elemType === 0 ? undefined : tensor.elemType, dims };
}

function merge(inferred: ValueType | undefined, declared: ValueType | undefined, trustShapes: boolean): ValueType {
  const base = inferred ?? unknownType;
  if (declared === undefined) return base;
  return {
    elemType: base.elemType ?? declared.elemType,
    dims: trustShapes ? mergeShapes(base.dims, declared.dims) : base.dims ?? (declared.dims === undefined ? undefined : declared.dims.map(() => null)),
  };
}

class GraphTypeTable implements GraphTypes {
  readonly localTypes = new Map<string, ValueType>();
  private readonly values = new Map<string, KnownValue>();
  private readonly lazyValues = new Map<string, () => KnownValue | undefined>();

  constructor(private readonly outer: GraphTypes | undefined) {}

  type(name: string): ValueType | undefined {
    return this.localTypes.get(name) ?? this.outer?.type(name);
  }

  value(name: string): KnownValue | undefined {
    const known = this.values.get(name);
    if (known !== undefined) return known;
    const lazy = this.lazyValues.get(name);
    if (lazy !== undefined) {
      this.lazyValues.delete(name);
      const value = lazy();
      if (value !== undefined) this.values.set(name, value);
      return value;
    }
    return this.localTypes.has(name) ? undefined : this.outer?.value(name);
  }

  setValue(name: string, value: KnownValue): void {
    this.values.set(name, value);
  }

  setLazyValue(name: string, read: () => KnownValue | undefined): void {
    this.lazyValues.set(name, read);
  }
}

function ruleContext(node: NodeProto, table: GraphTypeTable, opset: number): RuleContext {
  const has = (index: number): boolean => (node.input[index] ?? '') !== '';
  return {
    node,
    opset,
    has,
    input: (index) => (has(index) ? table.type(node.input[index]!) : undefined),
    value: (index) => (has(index) ? table.value(node.input[index]!) : undefined),
  };
}

function subgraphOutputTypes(node: NodeProto, recordSubgraph: (graph: GraphProto) => GraphTypes): (ValueType | undefined)[] {
  const subs = nodeSubgraphs(node);
  const results = subs.map((sub) => ({ sub, types: recordSubgraph(sub.graph) }));
  const outputType = (graph: GraphProto, types: GraphTypes, index: number): ValueType | undefined => {
    const name = graph.output[index]?.name ?? '';
    return merge(types.type(name), declaredType(graph.output[index]), true);
  };
  if (node.opType === 'If' && results.length === 2) {
    const [first, second] = results;
    return node.output.map((_, i) => {
      const a = outputType(first!.sub.graph, first!.types, i);
      const b = outputType(second!.sub.graph, second!.types, i);
      const dims = a?.dims !== undefined && b?.dims !== undefined && a.dims.length === b.dims.length
        ? a.dims.map((dim, axis) => (dim === b.dims![axis] ? dim : null))
        : undefined;
      return typed(a?.elemType ?? b?.elemType, dims);
    });
  }
  const body = results.find((result) => result.sub.attributeName === 'body');
  if (body === undefined) return node.output.map(() => undefined);
  // Loop: body outputs are (cond, carried…, scan…); Scan: (carried…, scan…). Scan outputs gain an axis.
  const offset = node.opType === 'Loop' ? 1 : 0;
  const carried = node.opType === 'Loop' ? node.input.length - 2 : node.input.length - (Number(findAttribute(node, 'num_scan_inputs')?.i ?? 0n));
  return node.output.map((_, i) => {
    const type = outputType(body.sub.graph, body.types, i + offset);
    if (i < carried) return type;
    return typed(type?.elemType, type?.dims === undefined ? undefined : [null, ...type.dims]);
  });
}

function inferInto(graph: GraphProto, table: GraphTypeTable, options: InferOptions, subgraphs: Map<GraphProto, GraphTypes>): void {
  const trust = options.trustDeclaredShapes !== false;
  const declared = new Map<string, ValueType>();
  for (const info of [...graph.valueInfo, ...graph.output]) {
    const type = declaredType(info);
    if (info.name && type !== undefined) declared.set(info.name, type);
  }
  const overridable = new Set(options.overridableInitializers === false ? [] : graph.input.map((info) => info.name ?? ''));
  for (const tensor of graph.initializer) {
    const name = tensor.name ?? '';
    if (name === '') continue;
    table.localTypes.set(name, typed(tensor.dataType, tensor.dims.map(Number)));
    if (!overridable.has(name)) table.setLazyValue(name, () => readKnownValue(tensor, MAX_KNOWN_VALUE_ELEMENTS));
  }
  for (const info of graph.input) {
    const name = info.name ?? '';
    if (name === '' || table.localTypes.has(name)) continue;
    const type = options.inputTypes?.get(name) ?? declaredType(info) ?? unknownType;
    table.localTypes.set(name, type);
  }

  let nodes: NodeProto[];
  try {
    nodes = topologicalSortNodes(graph.node);
  } catch {
    nodes = graph.node;
  }
  const recordSubgraph = (sub: GraphProto): GraphTypes => {
    const subTable = new GraphTypeTable(table);
    inferInto(sub, subTable, { ...options, outer: table, inputTypes: undefined }, subgraphs);
    subgraphs.set(sub, subTable);
    return subTable;
  };
  for (const node of nodes) {
    const context = ruleContext(node, table, options.opset);
    let inferred: (ValueType | undefined)[] = [];
    const rule = isDefaultDomain(node.domain) ? shapeRules[node.opType ?? ''] : undefined;
    try {
      if (nodeSubgraphs(node).length > 0) inferred = subgraphOutputTypes(node, recordSubgraph);
      else if (rule !== undefined) inferred = rule(context);
    } catch {
      inferred = [];
    }
    node.output.forEach((name, index) => {
      if (name === '') return;
      table.localTypes.set(name, merge(inferred[index], declared.get(name), trust));
    });
    const valueRule = isDefaultDomain(node.domain) ? valueRules[node.opType ?? ''] : undefined;
    const first = node.output[0] ?? '';
    if (valueRule !== undefined && first !== '') {
      try {
        const value = valueRule(context, table.localTypes.get(first) ?? unknownType);
        if (value !== undefined && value.values.length <= MAX_KNOWN_VALUE_ELEMENTS) {
          table.setValue(first, value);
          const current = table.localTypes.get(first);
          table.localTypes.set(first, typed(current?.elemType ?? value.elemType, value.dims));
        }
      } catch {
        // A value that cannot be worked out stays unknown.
      }
    }
  }
}

/**
 * Infers the types of every value of `graph` (and records those of its
 * subgraphs in `subgraphs`, when given).
 */
export function inferGraphTypes(graph: GraphProto, options: InferOptions, subgraphs = new Map<GraphProto, GraphTypes>()): GraphTypes {
  const table = new GraphTypeTable(options.outer);
  inferInto(graph, table, options, subgraphs);
  return table;
}

/** Infers the types of the model's main graph and of all its subgraphs. */
export function inferModelTypes(model: ModelProto, options: Omit<InferOptions, 'opset' | 'outer' | 'overridableInitializers'> = {}): ModelTypes {
  const subgraphs = new Map<GraphProto, GraphTypes>();
  const opset = opsetVersion(model, '') ?? 1;
  const overridableInitializers = initializersOverridable(model);
  const graph = model.graph ?? { node: [], initializer: [], sparseInitializer: [], input: [], output: [], valueInfo: [], quantizationAnnotation: [], metadataProps: [] };
  const main = inferGraphTypes(graph, { ...options, opset, overridableInitializers }, subgraphs);
  return { main, subgraphs };
}

/** Whether initializers listed as graph inputs are overridable defaults (IR 4 on) rather than constants. */
export function initializersOverridable(model: ModelProto): boolean {
  return (model.irVersion ?? 0n) >= 4n;
}
