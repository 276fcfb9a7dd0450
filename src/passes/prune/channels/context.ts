/**
 * The state of one channel dependency analysis: the channel layout of every
 * value followed so far, the producers whose channels can be removed, and
 * the edits that removing channels implies (weights to slice, shape
 * constants and `group` attributes to rewrite). Operator rules
 * (producer-rules.ts, layout-rules.ts) fill it in; select.ts and rewrite.ts
 * read it.
 */
import type { GraphIndex } from '../../../onnx/graph.js';
import type { AttributeProto, GraphProto, NodeProto } from '../../../onnx/types.js';
import type { SkippedReport, ValueShapes } from '../types.js';
import { dimsOf, nodeLabel, resolveConstant, unsupportedFloatReason, type ConstantRef } from '../weights.js';
import { ChannelSet, type ChannelLayout, type ValueLayout } from './channel-set.js';

/** A node input, by positions in the graph. */
export interface InputSite {
  readonly nodeIndex: number;
  readonly inputIndex: number;
}

/** A node whose output channels are removed together with their weights. */
export interface ProducerRecord {
  readonly nodeIndex: number;
  readonly label: string;
  /** Channel node of each output channel. */
  readonly ids: Int32Array;
  readonly weight: ConstantRef;
  /** The weight axis that holds the output channels. */
  readonly outAxis: number;
}

/** Keep, along `axis`, the positions whose channel stays (each channel owns `factor` consecutive positions). */
export interface AxisSlice {
  readonly axis: number;
  readonly ids: Int32Array;
  readonly factor: number;
}

/**
 * What a sliced constant is to the channels: a producer's weight along its
 * output channels, a consumer's weight along the input channels it
 * contracts, or a per-channel parameter (bias, BatchNormalization, a
 * depthwise filter, a Mul/Add constant).
 */
export type EditRole = 'output' | 'input' | 'parameter';

/** A float constant to slice where one node reads it. */
export interface TensorEdit {
  readonly role: EditRole;
  /** The node input that reads `source` directly (the start of `chain` when there is one). */
  readonly reader: InputSite;
  readonly source: ConstantRef;
  /** Values between the source and the node that needs it (Unsqueeze, Squeeze, Identity), whose shapes change too. */
  readonly chainValues: readonly string[];
  readonly slice: AxisSlice;
  /** The node the edit follows, for the report. */
  readonly nodeIndex: number;
}

/** One entry of an int64 shape constant that encodes a channel count: kept channels × multiply / divide. */
export interface ShapeUpdate {
  readonly position: number;
  readonly ids: Int32Array;
  readonly multiply: number;
  readonly divide: number;
}

/** An int64 shape constant (a Reshape target, Resize sizes) to rewrite where one node reads it. */
export interface ShapeEdit {
  readonly reader: InputSite;
  readonly source: ConstantRef;
  readonly updates: readonly ShapeUpdate[];
}

/** A depthwise Conv whose `group` becomes the number of kept input channels. */
export interface GroupEdit {
  readonly nodeIndex: number;
  readonly ids: Int32Array;
}

/** Settled options the analysis needs. */
export interface AnalysisOptions {
  readonly producerOpTypes: ReadonlySet<string>;
  readonly exclude: readonly (string | RegExp)[];
}

const shapeOnlyOps = new Set(['Unsqueeze', 'Squeeze', 'Identity']);

/** Integer attribute `name` of a node, or `fallback`. */
export function intAttribute(node: NodeProto, name: string, fallback: number): number {
  const attribute: AttributeProto | undefined = node.attribute.find((a) => a.name === name);
  return attribute?.i === undefined ? fallback : Number(attribute.i);
}

/** Integer-list attribute `name` of a node, or undefined. */
export function intsAttribute(node: NodeProto, name: string): number[] | undefined {
  const attribute = node.attribute.find((a) => a.name === name);
  return attribute === undefined ? undefined : attribute.ints.map(Number);
}

/**
 * One walk's state; see the module comment. Rules read `layouts` and record
 * through the methods, which say in a returned string why an edit is
 * impossible (the caller then blocks the channels with that reason).
 */
export class ChannelAnalysis {
  readonly set = new ChannelSet();
  readonly layouts = new Map<string, ValueLayout>();
  readonly producers: ProducerRecord[] = [];
  readonly tensorEdits: TensorEdit[] = [];
  readonly shapeEdits: ShapeEdit[] = [];
  readonly groupEdits: GroupEdit[] = [];
  readonly skipped: SkippedReport[] = [];

  constructor(
    readonly graph: GraphProto,
    readonly index: GraphIndex,
    private readonly valueShapes: ValueShapes,
    readonly options: AnalysisOptions,
  ) {}

  label(nodeIndex: number): string {
    return nodeLabel(this.graph.node[nodeIndex]!, nodeIndex);
  }

  /** `Op 'name'`, for reasons. */
  describe(nodeIndex: number): string {
    const node = this.graph.node[nodeIndex]!;
    return `${node.opType ?? '?'} '${this.label(nodeIndex)}'`;
  }

  /** Dims of a value: measured, from a constant, or from value_info when fully static. */
  shape(name: string): number[] | undefined {
    const measured = this.valueShapes.get(name);
    if (measured !== undefined) return [...measured];
    const constant = resolveConstant(this.index, name);
    if (constant !== undefined) return dimsOf(constant.tensor);
    const dims = this.index.valueInfo(name)?.type?.tensorType?.shape?.dim;
    if (dims === undefined || dims.some((dim) => dim.dimValue === undefined)) return undefined;
    return dims.map((dim) => Number(dim.dimValue));
  }

  /** The channel layout of a value, when it is a plain one. */
  channels(name: string): ChannelLayout | undefined {
    const layout = this.layouts.get(name);
    return layout?.kind === 'channels' ? layout : undefined;
  }

  /** Blocks every channel of every input of the node that carries channels. */
  blockInputs(nodeIndex: number, reason: string): void {
    for (const name of this.graph.node[nodeIndex]!.input) {
      const layout = this.layouts.get(name);
      if (layout !== undefined) this.set.block(layout.ids, reason);
    }
  }

  /** Records that channels flow on in `name` with `layout`. */
  setLayout(name: string, layout: ValueLayout): void {
    if (name !== '') this.layouts.set(name, layout);
  }

  /** Whether a producer may lose output channels: its type is selected and it is not excluded; otherwise why not. */
  producerBlockReason(nodeIndex: number): string | undefined {
    const node = this.graph.node[nodeIndex]!;
    const opType = node.opType ?? '';
    if (!this.options.producerOpTypes.has(opType)) return `${opType} is not among the --op-types to prune`;
    const name = node.name ?? '';
    if (this.options.exclude.some((pattern) => (typeof pattern === 'string' ? pattern === name : pattern.test(name)))) {
      return 'excluded by --exclude';
    }
    return undefined;
  }

  /** Follows a value back through shape-only nodes (Unsqueeze, Squeeze, Identity) to a constant. */
  private resolveSite(site: InputSite): { source: ConstantRef; reader: InputSite; chainValues: string[] } | undefined {
    let reader = site;
    let name = this.graph.node[site.nodeIndex]!.input[site.inputIndex] ?? '';
    const chainValues: string[] = [];
    for (;;) {
      const source = resolveConstant(this.index, name);
      if (source !== undefined) return { source, reader, chainValues };
      const producer = this.index.producer(name);
      if (producer === undefined || !shapeOnlyOps.has(producer.node.opType ?? '')) return undefined;
      // Only a chain that feeds nothing else may change shape.
      if (this.index.consumers(name).length !== 1 || this.index.isGraphOutput(name) || this.index.subgraphUsers(name).length > 0) return undefined;
      chainValues.push(name);
      reader = { nodeIndex: producer.nodeIndex, inputIndex: 0 };
      name = producer.node.input[0] ?? '';
    }
  }

  /** Whether the value a node input reads is a constant, directly or through Unsqueeze/Squeeze/Identity. */
  isConstantInput(site: InputSite): boolean {
    return this.resolveSite(site) !== undefined;
  }

  /**
   * Records that the float constant at `site` loses the positions of removed
   * channels along `axis` (of the value the node reads). Returns why that is
   * impossible, or undefined once recorded.
   */
  sliceConstant(site: InputSite, axis: number, ids: Int32Array, factor: number, role: EditRole = 'parameter'): string | undefined {
    const name = this.graph.node[site.nodeIndex]!.input[site.inputIndex] ?? '';
    const resolved = this.resolveSite(site);
    if (resolved === undefined) return `'${name}' of ${this.describe(site.nodeIndex)} is not a constant`;
    const unsupported = unsupportedFloatReason(resolved.source.tensor);
    if (unsupported !== undefined) return `'${resolved.source.name}' of ${this.describe(site.nodeIndex)} cannot be rewritten: ${unsupported}`;
    const dims = dimsOf(resolved.source.tensor);
    const positions = ids.length * factor;
    let sourceAxis = axis;
    if (resolved.chainValues.length > 0) {
      // Through Unsqueeze/Squeeze the data is unchanged: a per-channel vector stays one.
      const elements = dims.reduce((a, b) => a * b, 1);
      sourceAxis = dims.indexOf(positions);
      if (elements !== positions || sourceAxis < 0) return `'${name}' of ${this.describe(site.nodeIndex)} is not a per-channel constant`;
    } else if (dims[axis] !== positions) {
      return `'${name}' of ${this.describe(site.nodeIndex)} has ${dims[axis] ?? 'no'} entries on axis ${axis}, not ${positions}`;
    }
    this.tensorEdits.push({
      role,
      reader: resolved.reader,
      source: resolved.source,
      chainValues: resolved.chainValues,
      slice: { axis: sourceAxis, ids, factor },
      nodeIndex: site.nodeIndex,
    });
    return undefined;
  }

  /**
   * Records a rewrite of the int64 shape constant at `site`. Returns why that
   * is impossible (not a constant), or undefined once recorded.
   */
  rewriteShape(site: InputSite, updates: ShapeUpdate[]): string | undefined {
    const name = this.graph.node[site.nodeIndex]!.input[site.inputIndex] ?? '';
    const source = resolveConstant(this.index, name);
    if (source === undefined) return `the shape '${name}' of ${this.describe(site.nodeIndex)} is computed at run time, so mlctl cannot prove it still fits`;
    if (updates.length > 0) this.shapeEdits.push({ reader: site, source, updates });
    return undefined;
  }
}
