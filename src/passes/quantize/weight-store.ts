/**
 * The quantized tensors and shared helper nodes of one graph being rewritten:
 * each float weight is quantized once per (axis, layout) and shared by all its
 * consumers; each activation gets one DynamicQuantizeLinear; each quantized
 * weight one DequantizeLinear for all weight-only consumers.
 */
import { attrInt, makeNode, type AttrValue } from '../../onnx/builder.js';
import type { UniqueNameGenerator } from '../../onnx/graph.js';
import { DataLocation, type NodeProto, type TensorProto } from '../../onnx/types.js';
import type { QuantizedType } from './numerics.js';
import type { QuantizedTensorReport } from './types.js';
import type { WeightKernel } from './types.js';
import {
  quantizedTensors,
  scaleValues,
  weightShape,
  weightValues,
  type ExternalDataReader,
  type QuantizedTensors,
  type WeightSource,
} from './weights.js';

/** How the float weight is laid out before quantizing. */
export type WeightLayout =
  /** As stored. */
  | { readonly kind: 'plain' }
  /** For Gemm → MatMul: transposed when `transpose`, multiplied by `alpha`, giving [K, N]. */
  | { readonly kind: 'gemm'; readonly transpose: boolean; readonly alpha: number };

/** A weight's quantized tensors, ready to use. */
export interface QuantizedWeight {
  readonly tensors: QuantizedTensors;
  readonly dims: readonly number[];
  readonly axis: number | undefined;
  readonly report: QuantizedTensorReport;
}

/** Settled numeric options. */
export interface StoreOptions {
  readonly type: QuantizedType;
  readonly symmetric: boolean;
  readonly reduceRange: boolean;
  readonly readExternal: ExternalDataReader | undefined;
  readonly kernel: WeightKernel;
}

function layoutKey(layout: WeightLayout): string {
  return layout.kind === 'plain' ? 'plain' : `gemm:${layout.transpose ? 'T' : 'N'}:${layout.alpha}`;
}

/** Per-graph store; see the module comment. */
export class WeightStore {
  /** New initializers for this graph, in creation order. */
  readonly initializers: TensorProto[] = [];
  /** DequantizeLinear nodes of weight-only weights; their inputs are all initializers, so they go first. */
  readonly headNodes: NodeProto[] = [];
  /** Reports of the tensors quantized here. */
  readonly reports: QuantizedTensorReport[] = [];
  private readonly weights = new Map<string, QuantizedWeight>();
  private readonly dequantized = new Map<QuantizedWeight, string>();
  private readonly activations = new Map<string, { data: string; scale: string; zeroPoint: string }>();

  constructor(
    private readonly names: UniqueNameGenerator,
    private readonly options: StoreOptions,
  ) {}

  /** Adds an initializer this graph needs. */
  addInitializer(tensor: TensorProto): void {
    this.initializers.push(tensor);
  }

  /**
   * The weight quantized along `axis` (of the laid-out weight), made on first use.
   * @throws NonFiniteWeightError for NaN or infinite weights.
   */
  quantized(source: WeightSource, axis: number | undefined, layout: WeightLayout): QuantizedWeight {
    const key = `${source.name}|${layoutKey(layout)}|${axis ?? 'tensor'}`;
    const cached = this.weights.get(key);
    if (cached !== undefined) return cached;

    const { dims: storedDims, count } = weightShape(source.tensor);
    const alpha = layout.kind === 'gemm' ? layout.alpha : 1;
    const transpose = layout.kind === 'gemm' && layout.transpose;
    const base = layout.kind === 'plain' ? source.name : `${source.name}_${transpose ? 'transposed' : 'gemm'}`;
    const readExternal = this.options.readExternal;
    const values = (): Float32Array => {
      const stored = weightValues(source.tensor, readExternal);
      return alpha === 1 ? stored : scaleValues(stored, alpha);
    };
    // A transposed weight is quantized as stored ([N, K], channels on axis 0: the same values per
    // channel as axis 1 of [K, N], so the same numbers) and its int8 bytes transposed afterwards:
    // a quarter of the memory traffic of transposing float32.
    const kernelOptions = {
      type: this.options.type,
      symmetric: this.options.symmetric,
      reduceRange: this.options.reduceRange,
      axis: transpose && axis !== undefined ? 0 : axis,
    };
    const tensor = source.tensor;
    const external = tensor.dataLocation === DataLocation.EXTERNAL;
    const rawBytes = alpha === 1 && !external ? tensor.rawData : undefined;
    const result = this.options.kernel({
      key,
      values,
      rawBytes,
      external: alpha === 1 && external ? tensor : undefined,
      dims: storedDims,
      options: kernelOptions,
      transpose,
    });
    const dims = transpose ? [storedDims[1]!, storedDims[0]!] : storedDims;
    const tensors = quantizedTensors(
      result,
      dims,
      {
        data: this.names.next(`${base}_quantized`),
        scale: this.names.next(`${base}_scale`),
        zeroPoint: this.names.next(`${base}_zero_point`),
      },
      this.options.type,
      axis !== undefined,
    );
    this.initializers.push(tensors.data, tensors.scale, tensors.zeroPoint);
    const { scales, zeroPoints, sqnrDb } = tensors.result;
    let scaleMin = Infinity;
    let scaleMax = -Infinity;
    for (const scale of scales) {
      if (scale < scaleMin) scaleMin = scale;
      if (scale > scaleMax) scaleMax = scale;
    }
    const report: QuantizedTensorReport = {
      name: source.name,
      quantizedName: tensors.data.name ?? '',
      shape: [...dims],
      type: this.options.type,
      axis: axis ?? null,
      bytesBefore: count * 4,
      bytesAfter: count + scales.length * 4 + zeroPoints.length,
      scaleMin,
      scaleMax,
      sqnrDb: Number.isFinite(sqnrDb) ? sqnrDb : null,
      floatKept: false,
    };
    const weight: QuantizedWeight = { tensors, dims, axis, report };
    this.weights.set(key, weight);
    this.reports.push(report);
    return weight;
  }

  /** The output of a DequantizeLinear of `weight`, shared by all weight-only consumers. */
  dequantizedOutput(weight: QuantizedWeight): string {
    const existing = this.dequantized.get(weight);
    if (existing !== undefined) return existing;
    const output = this.names.next(`${weight.report.name}_dequantized`);
    const attributes: Record<string, AttrValue> = weight.axis === undefined ? {} : { axis: attrInt(weight.axis) };
    this.headNodes.push(
      makeNode(
        'DequantizeLinear',
        [weight.tensors.data.name ?? '', weight.tensors.scale.name ?? '', weight.tensors.zeroPoint.name ?? ''],
        [output],
        attributes,
        { name: this.names.next(`${weight.report.name}_DequantizeLinear`) },
      ),
    );
    this.dequantized.set(weight, output);
    return output;
  }

  /**
   * The uint8 data, scale and zero point of `activation` from one
   * DynamicQuantizeLinear; the node is appended to `emit` on first use, so
   * it lands right before its first consumer.
   */
  dynamicQuantized(activation: string, emit: NodeProto[]): { data: string; scale: string; zeroPoint: string } {
    const existing = this.activations.get(activation);
    if (existing !== undefined) return existing;
    const outputs = {
      data: this.names.next(`${activation}_quantized`),
      scale: this.names.next(`${activation}_scale`),
      zeroPoint: this.names.next(`${activation}_zero_point`),
    };
    emit.push(
      makeNode('DynamicQuantizeLinear', [activation], [outputs.data, outputs.scale, outputs.zeroPoint], {}, {
        name: this.names.next(`${activation}_DynamicQuantizeLinear`),
      }),
    );
    this.activations.set(activation, outputs);
    return outputs;
  }
}
