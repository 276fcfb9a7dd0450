/**
 * The {@link AdapterContext} an adapter gets for one node: it creates names,
 * constants and helper nodes in the graph the node lives in, and answers
 * questions about values from that graph's scope.
 */
import { makeNode, type AttrValue } from '../../../onnx/builder.js';
import type { GraphProto, NodeProto, TensorProto } from '../../../onnx/types.js';
import type { UniqueNameGenerator } from '../../../onnx/graph.js';
import type { AdapterContext, ValueFact } from './types.js';
import type { GraphScope } from './value-facts.js';

/** A graph being converted, with its place in the model. */
export interface GraphFrame {
  readonly graph: GraphProto;
  readonly parent: GraphFrame | undefined;
  /** Readable path, e.g. `graph 'main' > node 'loop' (Loop).body`. */
  readonly path: string;
  /** Whether new constants may become initializers (the main graph only). */
  readonly holdsInitializers: boolean;
}

/** Thrown by {@link AdapterContext.refuse}; the driver turns it into a failure. */
export class Refusal extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'Refusal';
  }
}

/** What the context needs from the conversion run. */
export interface StepServices {
  readonly names: UniqueNameGenerator;
  readonly usedNames: ReadonlySet<string>;
  scope(frame: GraphFrame): GraphScope;
  /** Makes `tensor` a value of `frame`'s graph; Constant nodes for subgraphs go to `pending`. */
  addConstant(frame: GraphFrame, base: string, tensor: TensorProto, pending: NodeProto[]): string;
}

/** The context of one adapter call. */
export class StepContext implements AdapterContext {
  /** Constant nodes to place before the adapted node (subgraphs only). */
  readonly pending: NodeProto[] = [];
  readonly notes: string[] = [];

  constructor(
    private readonly services: StepServices,
    private readonly frame: GraphFrame,
    readonly fromOpset: number,
    readonly toOpset: number,
    readonly fromVersion: number,
    readonly toVersion: number,
  ) {}

  refuse(reason: string): never {
    throw new Refusal(reason);
  }

  note(text: string): void {
    if (!this.notes.includes(text)) this.notes.push(text);
  }

  freshName(base: string): string {
    return this.services.names.next(base);
  }

  addConstant(base: string, tensor: TensorProto): string {
    return this.services.addConstant(this.frame, base, tensor, this.pending);
  }

  constantValue(name: string): TensorProto | undefined {
    return name === '' ? undefined : this.services.scope(this.frame).constantValue(name);
  }

  fact(name: string): ValueFact {
    return name === '' ? {} : this.services.scope(this.frame).fact(name);
  }

  declare(name: string, fact: ValueFact): void {
    this.services.scope(this.frame).merge(name, fact);
  }

  isUsed(name: string): boolean {
    return this.services.usedNames.has(name);
  }

  makeNode(
    opType: string,
    inputs: readonly string[],
    outputs: readonly string[],
    base: string,
    attributes: Readonly<Record<string, AttrValue>> = {},
  ): NodeProto {
    return makeNode(opType, inputs, outputs, attributes, { name: this.freshName(`${base}_${opType}`) });
  }
}
