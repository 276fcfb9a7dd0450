/**
 * The new tensors and QuantizeLinear/DequantizeLinear nodes of a static
 * quantization: per activation a Q → DQ pair (the scale and zero point
 * shared by tensors that share parameters), per weight an int8 initializer
 * and a DequantizeLinear, per bias an int32 initializer and a DequantizeLinear,
 * per constant operand of Add/Mul/Concat a quantized initializer and a
 * DequantizeLinear. Everything is created once and shared.
 */
import { attrInt, makeNode, type AttrValue } from '../../../onnx/builder.js';
import type { UniqueNameGenerator } from '../../../onnx/graph.js';
import { createTensor, tensorDims, tensorElementCount } from '../../../onnx/tensor.js';
import { DataLocation, DataType, type NodeProto, type TensorProto } from '../../../onnx/types.js';
import { channelLayout, type KernelResult } from '../kernel.js';
import { quantizeValue, typeRange, type QuantizedType, type ScaleZeroPoint } from '../numerics.js';
import type { QuantizedTensorReport, WeightKernel } from '../types.js';
import { quantizedTensors, rawTensor, weightValues, type WeightSource } from '../weights.js';
import { activationParams, quantizeBias, raiseWeightScalesForBias } from './static-numerics.js';
import type { StaticBiasReport, TensorRange } from './types.js';

const dataTypeOf: Record<QuantizedType, number> = { int8: DataType.INT8, uint8: DataType.UINT8 };

/** An activation's quantization parameters as initializers. */
export interface ActivationParamTensors {
  readonly scale: string;
  readonly zeroPoint: string;
  readonly params: ScaleZeroPoint;
}

/** A quantized constant (weight, bias or operand) behind its DequantizeLinear. */
export interface DequantizedConstant {
  /** The DequantizeLinear's output. */
  readonly output: string;
  /** Scales of the quantized data (one per channel, or one). */
  readonly scales: Float32Array;
  /** The initializer holding `scales`. */
  readonly scaleName: string;
}

function dequantizeNode(names: UniqueNameGenerator, base: string, inputs: string[], output: string, axis: number | undefined): NodeProto {
  const attributes: Record<string, AttrValue> = axis === undefined ? {} : { axis: attrInt(axis) };
  return makeNode('DequantizeLinear', inputs, [output], attributes, { name: names.next(`${base}_DequantizeLinear`) });
}

/** Builds and remembers everything new (see the module comment). */
export class QdqBuilder {
  /** New initializers, in creation order. */
  readonly initializers: TensorProto[] = [];
  /** DequantizeLinear nodes of constants: their inputs are all initializers, so they go first. */
  readonly headNodes: NodeProto[] = [];
  readonly weightReports: QuantizedTensorReport[] = [];
  readonly biasReports: StaticBiasReport[] = [];
  /** Names of the float constants that were replaced (to remove where nothing else reads them). */
  readonly replacedConstants = new Set<string>();
  private readonly params = new Map<string, ActivationParamTensors>();
  private readonly constants = new Map<string, DequantizedConstant>();
  private readonly results = new Map<string, KernelResult>();

  constructor(
    private readonly names: UniqueNameGenerator,
    private readonly activationType: QuantizedType,
    private readonly reduceRange: boolean,
    private readonly kernel: WeightKernel,
    private readonly explicitBiasScales = false,
  ) {}

  /** Scale and zero point initializers for the activation `root` with calibrated `range`, made once. */
  activationParams(root: string, range: TensorRange): ActivationParamTensors {
    const existing = this.params.get(root);
    if (existing !== undefined) return existing;
    const params = activationParams(range.min, range.max, this.activationType);
    const scale = this.names.next(`${root}_scale`);
    const zeroPoint = this.names.next(`${root}_zero_point`);
    this.initializers.push(
      createTensor(scale, DataType.FLOAT, [], [params.scale]),
      createTensor(zeroPoint, dataTypeOf[this.activationType], [], [params.zeroPoint]),
    );
    const made = { scale, zeroPoint, params };
    this.params.set(root, made);
    return made;
  }

  /** QuantizeLinear(tensor) → DequantizeLinear → the returned name. */
  activationPair(tensor: string, params: ActivationParamTensors, out: NodeProto[]): string {
    const quantized = this.names.next(`${tensor}_quantized`);
    const dequantized = this.names.next(`${tensor}_dequantized`);
    out.push(
      makeNode('QuantizeLinear', [tensor, params.scale, params.zeroPoint], [quantized], {}, { name: this.names.next(`${tensor}_QuantizeLinear`) }),
      makeNode('DequantizeLinear', [quantized, params.scale, params.zeroPoint], [dequantized], {}, { name: this.names.next(`${tensor}_DequantizeLinear`) }),
    );
    return dequantized;
  }

  /**
   * The kernel's result for a weight (symmetric int8, per channel along
   * `axis` or per tensor), computed once.
   * @throws NonFiniteWeightError (from the kernel) for NaN or infinite weights.
   */
  kernelResult(source: WeightSource, axis: number | undefined): KernelResult {
    const key = `${source.name}|${axis ?? 'tensor'}`;
    const cached = this.results.get(key);
    if (cached !== undefined) return cached;
    const tensor = source.tensor;
    const result = this.kernel({
      key,
      values: () => weightValues(tensor, undefined),
      rawBytes: tensor.dataLocation === DataLocation.EXTERNAL ? undefined : tensor.rawData,
      dims: tensorDims(tensor),
      options: { type: 'int8', symmetric: true, reduceRange: this.reduceRange, axis },
      transpose: false,
    });
    this.results.set(key, result);
    return result;
  }

  /**
   * The weight behind a DequantizeLinear, made once per (weight, axis, bias
   * adjustment, zero point written or not: ONNX Runtime's QGemm fusion needs it
   * written, its QLinearConv and QLinearMatMul fusions take the default). With `bias`, channels whose scale is too small for the int32
   * bias get a larger scale and are quantized again (see `raiseWeightScalesForBias`).
   * @throws NonFiniteWeightError (from the kernel) for NaN or infinite weights.
   */
  weight(source: WeightSource, axis: number | undefined, bias?: { values: Float32Array; inputScale: number }, writeZeroPoint = false): DequantizedConstant & { raised: number[] } {
    const base = this.kernelResult(source, axis);
    const adjusted = bias === undefined ? { scales: base.scales, raised: [] } : raiseWeightScalesForBias(base.scales, bias.values, bias.inputScale);
    const key = `weight:${source.name}|${axis ?? 'tensor'}|${writeZeroPoint ? 'zp' : ''}|${adjusted.raised.map((c) => `${c}=${adjusted.scales[c]}`).join(',')}`;
    const cached = this.constants.get(key);
    if (cached !== undefined) return { ...cached, raised: adjusted.raised };
    const dims = tensorDims(source.tensor);
    const result = adjusted.raised.length === 0 ? base : requantizeChannels(source, dims, axis, base, adjusted.scales, adjusted.raised);
    const tensors = quantizedTensors(
      result,
      dims,
      { data: this.names.next(`${source.name}_quantized`), scale: this.names.next(`${source.name}_scale`), zeroPoint: this.names.next(`${source.name}_zero_point`) },
      'int8',
      axis !== undefined,
    );
    // Symmetric int8: every zero point is 0, DequantizeLinear's default, so none is written unless asked.
    this.initializers.push(tensors.data, tensors.scale, ...(writeZeroPoint ? [tensors.zeroPoint] : []));
    const output = this.names.next(`${source.name}_dequantized`);
    const inputs = [tensors.data.name ?? '', tensors.scale.name ?? '', ...(writeZeroPoint ? [tensors.zeroPoint.name ?? ''] : [])];
    this.headNodes.push(dequantizeNode(this.names, source.name, inputs, output, axis));
    let scaleMin = Infinity;
    let scaleMax = -Infinity;
    for (const scale of result.scales) {
      scaleMin = Math.min(scaleMin, scale);
      scaleMax = Math.max(scaleMax, scale);
    }
    const count = tensorElementCount(source.tensor);
    this.weightReports.push({
      name: source.name,
      quantizedName: tensors.data.name ?? '',
      shape: [...dims],
      type: 'int8',
      axis: axis ?? null,
      bytesBefore: count * 4,
      bytesAfter: count + result.scales.length * (writeZeroPoint ? 5 : 4),
      scaleMin,
      scaleMax,
      sqnrDb: Number.isFinite(result.sqnrDb) ? result.sqnrDb : null,
      floatKept: false,
    });
    this.replacedConstants.add(source.name);
    const made = { output, scales: result.scales, scaleName: tensors.scale.name ?? '' };
    this.constants.set(key, made);
    return { ...made, raised: adjusted.raised };
  }

  /**
   * The bias as int32 with `scale = input_scale × weight_scale` behind a
   * DequantizeLinear (axis 0 when there is one scale per channel), for one
   * consumer; undefined when a scale underflows and the bias must stay float.
   * With `computedScale` (a Conv's bias) and unless `explicitBiasScales`, the
   * scale is not stored but computed by a Mul of the input's and the weight's
   * scale initializers: the same float32 product, which ONNX Runtime folds
   * into a constant when it loads the model (its QLinearConv fusion then
   * follows; its QGemm fusion does not, so Gemm biases keep a stored scale),
   * and one float per channel less in the file. The zero point is 0, the
   * default, and not written.
   */
  bias(source: WeightSource, input: { scale: number; scaleName: string }, weight: DequantizedConstant, consumer: { label: string; computedScale: boolean }, weightScalesRaised = 0): string | undefined {
    const values = weightValues(source.tensor, undefined);
    const quantized = quantizeBias(values, input.scale, weight.scales);
    if (quantized === undefined) return undefined;
    const perChannel = weight.scales.length > 1;
    const data = this.names.next(`${source.name}_quantized`);
    const scale = this.names.next(`${source.name}_scale`);
    this.initializers.push(createTensor(data, DataType.INT32, tensorDims(source.tensor), quantized.values));
    if (this.explicitBiasScales || !consumer.computedScale) {
      this.initializers.push(createTensor(scale, DataType.FLOAT, perChannel ? [quantized.scales.length] : [], quantized.scales));
    } else {
      this.headNodes.push(makeNode('Mul', [input.scaleName, weight.scaleName], [scale], {}, { name: this.names.next(`${source.name}_scale_Mul`) }));
    }
    const output = this.names.next(`${source.name}_dequantized`);
    this.headNodes.push(dequantizeNode(this.names, source.name, [data, scale], output, perChannel ? 0 : undefined));
    let scaleMin = Infinity;
    let scaleMax = -Infinity;
    for (const s of quantized.scales) {
      scaleMin = Math.min(scaleMin, s);
      scaleMax = Math.max(scaleMax, s);
    }
    this.biasReports.push({ name: source.name, node: consumer.label, scaleMin, scaleMax, clipped: quantized.clipped, weightScalesRaised });
    this.replacedConstants.add(source.name);
    return output;
  }

  /**
   * A float constant operand (of Add, Mul, Concat) quantized per tensor like
   * an activation, from its own range, behind a DequantizeLinear; made once.
   * @throws NonFiniteWeightError for NaN or infinite values.
   */
  constantOperand(source: WeightSource): string {
    const cached = this.constants.get(`operand:${source.name}`);
    if (cached !== undefined) return cached.output;
    const dims = tensorDims(source.tensor);
    const tensor = source.tensor;
    const result = this.kernel({
      key: `${source.name}|operand|${this.activationType}`,
      values: () => weightValues(tensor, undefined),
      rawBytes: tensor.dataLocation === DataLocation.EXTERNAL ? undefined : tensor.rawData,
      dims,
      options: { type: this.activationType, symmetric: false, reduceRange: false, axis: undefined },
      transpose: false,
    });
    const data = rawTensor(this.names.next(`${source.name}_quantized`), dataTypeOf[this.activationType], dims, result.bytes);
    const scale = createTensor(this.names.next(`${source.name}_scale`), DataType.FLOAT, [], result.scales);
    const zeroPoint = createTensor(this.names.next(`${source.name}_zero_point`), dataTypeOf[this.activationType], [], result.zeroPoints);
    this.initializers.push(data, scale, zeroPoint);
    const output = this.names.next(`${source.name}_dequantized`);
    this.headNodes.push(dequantizeNode(this.names, source.name, [data.name ?? '', scale.name ?? '', zeroPoint.name ?? ''], output, undefined));
    this.replacedConstants.add(source.name);
    this.constants.set(`operand:${source.name}`, { output, scales: result.scales, scaleName: scale.name ?? '' });
    return output;
  }
}

/**
 * The kernel's result with the channels in `raised` quantized again with
 * their new scales (zero point 0, int8, rounding half to even), their
 * signal-to-noise ratio left as the kernel measured it.
 */
function requantizeChannels(source: WeightSource, dims: readonly number[], axis: number | undefined, base: KernelResult, scales: Float32Array, raised: readonly number[]): KernelResult {
  const values = weightValues(source.tensor, undefined);
  const bytes = Uint8Array.from(base.bytes);
  const [outer, channels, inner] = channelLayout(dims, axis);
  const clip = typeRange('int8');
  for (const c of raised) {
    for (let o = 0; o < outer; o++) {
      const start = (o * channels + c) * inner;
      for (let k = start; k < start + inner; k++) bytes[k] = quantizeValue(values[k]!, scales[c]!, 0, clip) & 255;
    }
  }
  return { ...base, bytes, scales };
}
