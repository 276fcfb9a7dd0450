/**
 * The contract of the opset converter: its options and report, and the
 * interface every per-operator adapter implements.
 */
import type { AttrValue } from '../../../onnx/builder.js';
import type { NodeProto, TensorProto } from '../../../onnx/types.js';

/** Options of {@link convertOpset}. */
export interface OpsetConversionOptions {
  /** How to name the model in error messages (a file path); default `'model'`. */
  label?: string;
}

/** What one adapter did, summed over every node it changed. */
export interface AdapterRecord {
  /** Operator type of the nodes it changed (before the change, e.g. `Upsample`). */
  opType: string;
  /** Schema version of the operator before the step. */
  fromVersion: number;
  /** Schema version after the step (that of the replacement operator, if it was replaced). */
  toVersion: number;
  /** What the adapter does, e.g. `axes attribute → input`. */
  adapter: string;
  /** Number of nodes it changed. */
  nodesChanged: number;
  /** Notes, each once, e.g. which equivalent was chosen and why. */
  notes: string[];
}

/** The structured report of one conversion. */
export interface OpsetConversionReport {
  /** Default-domain opset before and after. */
  fromOpset: number;
  toOpset: number;
  /** IR version before and after (raised when the target opset needs a newer one). */
  irVersionFrom: number;
  irVersionTo: number;
  /** Nodes in all graphs and subgraphs (not function bodies) before and after. */
  nodesBefore: number;
  nodesAfter: number;
  /** Every adapter that changed at least one node, in the order they first ran. */
  adapters: AdapterRecord[];
  /**
   * Nodes whose operator got a new schema version on the way without any
   * change to the node (new types or attributes with backward-compatible defaults).
   */
  nodesCarriedOver: number;
  /** Model-level notes (functions left as they are, IR version raised, …). */
  notes: string[];
}

/** A node the converter could not convert, and why. */
export interface ConversionFailure {
  /** Where the node is, e.g. `graph 'main' > node 'loop' (Loop).body`. */
  graphPath: string;
  /** The node as `node 'name' (Op)` or `node #index (Op)`. */
  node: string;
  opType: string;
  /** The opset step that failed, e.g. `12 → 13`. */
  step: string;
  reason: string;
}

/** Element type and rank of a value, as far as they are known. */
export interface ValueFact {
  /** A TensorProto.DataType value. */
  elemType?: number;
  rank?: number;
  /** Number of elements of a 1-D value (a shape, a list of axes), when known. */
  length?: number;
  /** Set for values known not to be tensors. */
  nonTensor?: 'sequence' | 'optional' | 'map';
}

/**
 * What an adapter may do besides editing the node it was given: make new
 * values and constants, look up constants and known types, record notes, refuse.
 */
export interface AdapterContext {
  /** The opset step being made (`toOpset` is `fromOpset ± 1`). */
  readonly fromOpset: number;
  readonly toOpset: number;
  /** Schema versions of the node's operator on both sides of the step. */
  readonly fromVersion: number;
  readonly toVersion: number;
  /** Stops converting this node: the model cannot be converted. */
  refuse(reason: string): never;
  /** Adds a note to this adapter's entry in the report. */
  note(text: string): void;
  /** A value or node name unused anywhere in the model, reserved from now on. */
  freshName(base: string): string;
  /**
   * Makes `tensor` available as a value and returns its name: an initializer
   * of the main graph, or a Constant node placed before the adapted node
   * inside subgraphs. Identical small constants of one graph are shared.
   */
  addConstant(base: string, tensor: TensorProto): string;
  /** The value of `name` when it is an initializer or a Constant node's output (in this or an enclosing graph). */
  constantValue(name: string): TensorProto | undefined;
  /** What is known about `name` (from value_info, graph inputs, initializers and simple inference). */
  fact(name: string): ValueFact;
  /** Records what is known about a value the adapter created. */
  declare(name: string, fact: ValueFact): void;
  /** Whether any node (in any graph) or graph output reads `name`. */
  isUsed(name: string): boolean;
  /** Builds a default-domain node named freshly after `base`. */
  makeNode(
    opType: string,
    inputs: readonly string[],
    outputs: readonly string[],
    base: string,
    attributes?: Readonly<Record<string, AttrValue>>,
  ): NodeProto;
}

/** Converts one operator across one opset step. */
export interface OpAdapter {
  /** What it does, for the report, e.g. `axes attribute → input`. */
  readonly description: string;
  /** The operator that replaces the node's, when the adapter swaps it (Upsample → Resize). */
  readonly replacesWith?: string;
  /**
   * Returns the nodes that replace `node`, in order (they may include `node`
   * itself, changed in place), or undefined when the node needs no change.
   * Calls `context.refuse` when the target opset has no equivalent.
   */
  adapt(node: NodeProto, context: AdapterContext): NodeProto[] | undefined;
}
