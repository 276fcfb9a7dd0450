/**
 * Exact conversions between JS numbers and the bit patterns of the narrow
 * floating-point formats ONNX tensors use: float16, bfloat16, the four float8
 * types, float4 e2m1 and float8 e8m0.
 *
 * Decoding is exact for every bit pattern. Encoding rounds the JS number (a
 * float64, so any float32 too) once, to nearest with ties to even, and
 * handles out-of-range values as the ONNX Cast operator specifies
 * (docs/Operators.md#Cast, docs/technical/float8.md, float4.md).
 * NaN always encodes to one canonical NaN pattern per format.
 */

import { DataType } from './types.js';

/** The shape of a sign/exponent/mantissa format of at most 16 bits. */
interface MiniFloatSpec {
  readonly exponentBits: number;
  readonly mantissaBits: number;
  readonly bias: number;
  /** How the format spells NaN and infinity. */
  readonly specials: 'ieee' | 'fn' | 'fnuz' | 'none';
  /** The pattern NaN encodes to (unsigned); for `none`, what NaN saturates to. */
  readonly nanBits: number;
  /** Largest finite magnitude, as an unsigned bit pattern. */
  readonly maxFiniteBits: number;
}

interface MiniFloatFormat extends MiniFloatSpec {
  readonly signBit: number;
  /** Largest finite magnitude, as a number. */
  readonly maxFinite: number;
}

function miniFloat(spec: MiniFloatSpec): MiniFloatFormat {
  const signBit = 1 << (spec.exponentBits + spec.mantissaBits);
  return Object.freeze({ ...spec, signBit, maxFinite: decodeMiniFloat({ ...spec, signBit, maxFinite: 0 }, spec.maxFiniteBits) });
}

const formats = {
  float16: miniFloat({ exponentBits: 5, mantissaBits: 10, bias: 15, specials: 'ieee', nanBits: 0x7e00, maxFiniteBits: 0x7bff }),
  bfloat16: miniFloat({ exponentBits: 8, mantissaBits: 7, bias: 127, specials: 'ieee', nanBits: 0x7fc0, maxFiniteBits: 0x7f7f }),
  e4m3fn: miniFloat({ exponentBits: 4, mantissaBits: 3, bias: 7, specials: 'fn', nanBits: 0x7f, maxFiniteBits: 0x7e }),
  e4m3fnuz: miniFloat({ exponentBits: 4, mantissaBits: 3, bias: 8, specials: 'fnuz', nanBits: 0x80, maxFiniteBits: 0x7f }),
  e5m2: miniFloat({ exponentBits: 5, mantissaBits: 2, bias: 15, specials: 'ieee', nanBits: 0x7e, maxFiniteBits: 0x7b }),
  e5m2fnuz: miniFloat({ exponentBits: 5, mantissaBits: 2, bias: 16, specials: 'fnuz', nanBits: 0x80, maxFiniteBits: 0x7f }),
  // float4.md: NaN casts to 6, the largest value.
  e2m1: miniFloat({ exponentBits: 2, mantissaBits: 1, bias: 1, specials: 'none', nanBits: 0x7, maxFiniteBits: 0x7 }),
};

const scratch = new DataView(new ArrayBuffer(8));

/** floor(log2(a)) for a finite a > 0; values below 2^-1022 report -1023, which is all callers need. */
function floorLog2(a: number): number {
  scratch.setFloat64(0, a);
  return ((scratch.getUint32(0) >>> 20) & 0x7ff) - 1023;
}

function roundHalfEven(q: number): number {
  const floor = Math.floor(q);
  const fraction = q - floor;
  if (fraction > 0.5) return floor + 1;
  if (fraction < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

function decodeMiniFloat(format: MiniFloatFormat, bits: number): number {
  const { exponentBits, mantissaBits, bias, specials, signBit } = format;
  const exponentMask = (1 << exponentBits) - 1;
  const mantissaMask = (1 << mantissaBits) - 1;
  const negative = (bits & signBit) !== 0;
  const exponent = (bits >>> mantissaBits) & exponentMask;
  const mantissa = bits & mantissaMask;
  if (specials === 'fnuz' && bits === signBit) return NaN;
  if (specials === 'fn' && exponent === exponentMask && mantissa === mantissaMask) return NaN;
  if (specials === 'ieee' && exponent === exponentMask) {
    if (mantissa !== 0) return NaN;
    return negative ? -Infinity : Infinity;
  }
  const magnitude =
    exponent === 0
      ? mantissa * 2 ** (1 - bias - mantissaBits)
      : (mantissa + 2 ** mantissaBits) * 2 ** (exponent - bias - mantissaBits);
  return negative ? -magnitude : magnitude;
}

/**
 * The pattern for a value that does not fit: ±infinity, or a value that
 * rounds past the largest finite one.
 */
function encodeOverflow(format: MiniFloatFormat, negative: boolean, saturate: boolean): number {
  const sign = negative ? format.signBit : 0;
  if (saturate || format.specials === 'none') return sign | format.maxFiniteBits;
  switch (format.specials) {
    case 'ieee':
      return sign | (((1 << format.exponentBits) - 1) << format.mantissaBits);
    case 'fn':
      return sign | format.nanBits;
    case 'fnuz':
      return format.nanBits;
  }
}

function encodeMiniFloat(format: MiniFloatFormat, value: number, saturate: boolean): number {
  const { mantissaBits, bias } = format;
  if (Number.isNaN(value)) return format.nanBits;
  const negative = value < 0 || Object.is(value, -0);
  const magnitude = Math.abs(value);
  if (magnitude === Infinity) return encodeOverflow(format, negative, saturate);

  // Round once, with the exponent unbounded above and clamped to the
  // subnormal range below, then check the rounded value against the range.
  // Every step is exact: scaling by powers of two and integer rounding.
  const minNormalExponent = 1 - bias;
  const exponent = Math.max(floorLog2(magnitude), minNormalExponent);
  const quantum = 2 ** (exponent - mantissaBits);
  const rounded = roundHalfEven(magnitude / quantum) * quantum;
  if (rounded > format.maxFinite) return encodeOverflow(format, negative, saturate);
  const sign = negative ? format.signBit : 0;
  if (rounded === 0) return format.specials === 'fnuz' ? 0 : sign;
  if (rounded < 2 ** minNormalExponent) {
    return sign | (rounded / 2 ** (minNormalExponent - mantissaBits));
  }
  const roundedExponent = floorLog2(rounded);
  const mantissa = rounded / 2 ** (roundedExponent - mantissaBits) - 2 ** mantissaBits;
  return sign | ((roundedExponent + bias) << mantissaBits) | mantissa;
}

/** The value of an IEEE 754 half-precision bit pattern (low 16 bits of `bits`). */
export function decodeFloat16(bits: number): number {
  return decodeMiniFloat(formats.float16, bits & 0xffff);
}

/** The IEEE half-precision pattern nearest `value` (ties to even; overflow gives ±infinity; NaN gives 0x7E00). */
export function encodeFloat16(value: number): number {
  return encodeMiniFloat(formats.float16, value, false);
}

/** The value of a bfloat16 bit pattern (low 16 bits of `bits`). */
export function decodeBfloat16(bits: number): number {
  return decodeMiniFloat(formats.bfloat16, bits & 0xffff);
}

/** The bfloat16 pattern nearest `value` (ties to even; overflow gives ±infinity; NaN gives 0x7FC0). */
export function encodeBfloat16(value: number): number {
  return encodeMiniFloat(formats.bfloat16, value, false);
}

/** The value of a FLOAT8E4M3FN pattern (max ±448, NaN = S.1111.111, no infinity). */
export function decodeFloat8E4M3FN(bits: number): number {
  return decodeMiniFloat(formats.e4m3fn, bits & 0xff);
}

/**
 * Nearest FLOAT8E4M3FN pattern (ties to even). With `saturate` (the ONNX
 * default) ±infinity and out-of-range values become ±448, else ±NaN. NaN gives 0x7F.
 */
export function encodeFloat8E4M3FN(value: number, saturate = true): number {
  return encodeMiniFloat(formats.e4m3fn, value, saturate);
}

/** The value of a FLOAT8E4M3FNUZ pattern (max ±240, NaN = 0x80, no infinity, no -0). */
export function decodeFloat8E4M3FNUZ(bits: number): number {
  return decodeMiniFloat(formats.e4m3fnuz, bits & 0xff);
}

/**
 * Nearest FLOAT8E4M3FNUZ pattern (ties to even; -0 and negative underflow
 * give +0). With `saturate` ±infinity and out-of-range values become ±240, else NaN (0x80).
 */
export function encodeFloat8E4M3FNUZ(value: number, saturate = true): number {
  return encodeMiniFloat(formats.e4m3fnuz, value, saturate);
}

/** The value of a FLOAT8E5M2 pattern (IEEE-like: max ±57344, ±infinity, NaNs). */
export function decodeFloat8E5M2(bits: number): number {
  return decodeMiniFloat(formats.e5m2, bits & 0xff);
}

/**
 * Nearest FLOAT8E5M2 pattern (ties to even). With `saturate` ±infinity and
 * out-of-range values become ±57344, else ±infinity. NaN gives 0x7E.
 */
export function encodeFloat8E5M2(value: number, saturate = true): number {
  return encodeMiniFloat(formats.e5m2, value, saturate);
}

/** The value of a FLOAT8E5M2FNUZ pattern (max ±57344, NaN = 0x80, no infinity, no -0). */
export function decodeFloat8E5M2FNUZ(bits: number): number {
  return decodeMiniFloat(formats.e5m2fnuz, bits & 0xff);
}

/**
 * Nearest FLOAT8E5M2FNUZ pattern (ties to even; no -0). With `saturate`
 * ±infinity and out-of-range values become ±57344, else NaN (0x80).
 */
export function encodeFloat8E5M2FNUZ(value: number, saturate = true): number {
  return encodeMiniFloat(formats.e5m2fnuz, value, saturate);
}

/** The value of a FLOAT4E2M1 pattern (low 4 bits): ±{0, 0.5, 1, 1.5, 2, 3, 4, 6}. */
export function decodeFloat4E2M1(bits: number): number {
  return decodeMiniFloat(formats.e2m1, bits & 0xf);
}

/** Nearest FLOAT4E2M1 pattern (ties to even); always saturates to ±6, and NaN gives 6 (0x7), as ONNX specifies. */
export function encodeFloat4E2M1(value: number): number {
  return encodeMiniFloat(formats.e2m1, value, true);
}

/** The value of a FLOAT8E8M0 pattern: 2^(bits-127), or NaN for 0xFF. */
export function decodeFloat8E8M0(bits: number): number {
  const exponent = bits & 0xff;
  return exponent === 0xff ? NaN : 2 ** (exponent - 127);
}

/** Options of {@link encodeFloat8E8M0}, named as the ONNX Cast attributes. */
export interface E8M0EncodeOptions {
  /** Out-of-range, zero and infinite inputs clamp to 2^-127 / 2^127 instead of NaN. Default true. */
  saturate?: boolean;
  /**
   * `up` (default): to the next power of two away from zero; `down`: towards
   * zero; `nearest`: nearer by value, ties (1.5·2^e) up.
   */
  roundMode?: 'up' | 'down' | 'nearest';
}

/**
 * The FLOAT8E8M0 pattern for `value`. Rounding works on the value itself, so
 * inputs below 2^-126 behave as their magnitude says. Negative inputs are
 * unspecified in ONNX; this encodes their magnitude.
 */
export function encodeFloat8E8M0(value: number, options: E8M0EncodeOptions = {}): number {
  const saturate = options.saturate ?? true;
  const roundMode = options.roundMode ?? 'up';
  if (Number.isNaN(value)) return 0xff;
  const magnitude = Math.abs(value);
  if (magnitude === Infinity) return saturate ? 0xfe : 0xff;
  if (magnitude === 0) return saturate ? 0x00 : 0xff;
  // Subnormal doubles all report -1023, far below the range, so the exact
  // exponent does not matter for them.
  let exponent = floorLog2(magnitude);
  const fraction = exponent < -1022 ? 1 : magnitude / 2 ** exponent;
  if ((roundMode === 'up' && fraction > 1) || (roundMode === 'nearest' && fraction >= 1.5)) exponent += 1;
  const biased = exponent + 127;
  if (biased < 0) return saturate ? 0x00 : 0xff;
  if (biased > 0xfe) return saturate ? 0xfe : 0xff;
  return biased;
}

/** The data types whose elements are stored as narrow float bit patterns. */
export type NarrowFloatDataType =
  | typeof DataType.FLOAT16
  | typeof DataType.BFLOAT16
  | typeof DataType.FLOAT8E4M3FN
  | typeof DataType.FLOAT8E4M3FNUZ
  | typeof DataType.FLOAT8E5M2
  | typeof DataType.FLOAT8E5M2FNUZ
  | typeof DataType.FLOAT4E2M1
  | typeof DataType.FLOAT8E8M0;

const decoders: Record<NarrowFloatDataType, (bits: number) => number> = {
  [DataType.FLOAT16]: decodeFloat16,
  [DataType.BFLOAT16]: decodeBfloat16,
  [DataType.FLOAT8E4M3FN]: decodeFloat8E4M3FN,
  [DataType.FLOAT8E4M3FNUZ]: decodeFloat8E4M3FNUZ,
  [DataType.FLOAT8E5M2]: decodeFloat8E5M2,
  [DataType.FLOAT8E5M2FNUZ]: decodeFloat8E5M2FNUZ,
  [DataType.FLOAT4E2M1]: decodeFloat4E2M1,
  [DataType.FLOAT8E8M0]: decodeFloat8E8M0,
};

const encoders: Record<NarrowFloatDataType, (value: number) => number> = {
  [DataType.FLOAT16]: encodeFloat16,
  [DataType.BFLOAT16]: encodeBfloat16,
  [DataType.FLOAT8E4M3FN]: (value) => encodeFloat8E4M3FN(value),
  [DataType.FLOAT8E4M3FNUZ]: (value) => encodeFloat8E4M3FNUZ(value),
  [DataType.FLOAT8E5M2]: (value) => encodeFloat8E5M2(value),
  [DataType.FLOAT8E5M2FNUZ]: (value) => encodeFloat8E5M2FNUZ(value),
  [DataType.FLOAT4E2M1]: encodeFloat4E2M1,
  [DataType.FLOAT8E8M0]: (value) => encodeFloat8E8M0(value),
};

/** True if `dataType` stores its elements as narrow float bit patterns. */
export function isNarrowFloatDataType(dataType: number): dataType is NarrowFloatDataType {
  return Object.hasOwn(decoders, dataType);
}

/** The scalar decoder (bit pattern → number) of a narrow float data type. */
export function narrowFloatDecoder(dataType: NarrowFloatDataType): (bits: number) => number {
  return decoders[dataType];
}

/** The scalar encoder (number → bit pattern) of a narrow float data type, with the ONNX Cast defaults (saturate, round up for e8m0). */
export function narrowFloatEncoder(dataType: NarrowFloatDataType): (value: number) => number {
  return encoders[dataType];
}
