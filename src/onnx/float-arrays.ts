/**
 * Bulk conversions between Float32Array values and the bit patterns of the
 * narrow float formats, one pass each with no per-element allocation. The
 * results equal the scalar codecs' in float-formats.ts.
 */

import { DataType } from './types.js';
import { narrowFloatDecoder, type NarrowFloatDataType } from './float-formats.js';

// The canonical NaN patterns, as encodeFloat16 / encodeBfloat16 give them.
const FLOAT16_NAN = 0x7e00;
const BFLOAT16_NAN = 0x7fc0;

function checkOutput(kind: string, out: { length: number }, length: number): void {
  if (out.length < length) {
    throw new RangeError(`output ${kind} holds ${out.length} elements, but ${length} are needed`);
  }
}

// Both views share one buffer, so reinterpreting float32 bits through a
// Uint32Array is correct whatever the host's byte order.
function float32BitsOf(values: Float32Array): Uint32Array {
  return new Uint32Array(values.buffer, values.byteOffset, values.length);
}

/**
 * Encodes float32 values to IEEE half bit patterns, with the same results as
 * {@link encodeFloat16}, in one pass without per-element allocation.
 *
 * @param out - where to write (at least `values.length` long); a new array when omitted.
 * @throws RangeError if `out` is too short.
 */
export function float32ToFloat16Bits(values: Float32Array, out = new Uint16Array(values.length)): Uint16Array {
  checkOutput('Uint16Array', out, values.length);
  const bits = float32BitsOf(values);
  for (let i = 0; i < bits.length; i++) {
    const x = bits[i]!;
    const sign = (x >>> 16) & 0x8000;
    const magnitude = x & 0x7fffffff;
    if (magnitude > 0x7f800000) {
      out[i] = FLOAT16_NAN;
    } else if (magnitude >= 0x477ff000) {
      // 65520 and above (infinity included) round to infinity.
      out[i] = sign | 0x7c00;
    } else if (magnitude < 0x38800000) {
      // Below 2^-14 the result is subnormal: scale to units of 2^-24 (exact)
      // and let float64 addition of 2^52 round to an integer, ties to even.
      const scaled = Math.abs(values[i]!) * 2 ** 24;
      out[i] = sign | (scaled + 2 ** 52 - 2 ** 52);
    } else {
      // Rebias the exponent (127 → 15) and keep the top 10 mantissa bits;
      // a carry out of the mantissa correctly bumps the exponent.
      let half = (magnitude >>> 13) - (112 << 10);
      const dropped = magnitude & 0x1fff;
      if (dropped > 0x1000 || (dropped === 0x1000 && (half & 1) === 1)) half += 1;
      out[i] = sign | half;
    }
  }
  return out;
}

/**
 * Decodes IEEE half bit patterns to float32 (exact; NaN payloads kept).
 *
 * @param out - where to write (at least `bits.length` long); a new array when omitted.
 * @throws RangeError if `out` is too short.
 */
export function float16BitsToFloat32(bits: Uint16Array, out = new Float32Array(bits.length)): Float32Array {
  checkOutput('Float32Array', out, bits.length);
  const outBits = float32BitsOf(out);
  for (let i = 0; i < bits.length; i++) {
    const half = bits[i]!;
    const sign = (half & 0x8000) << 16;
    const magnitude = half & 0x7fff;
    if (magnitude >= 0x7c00) {
      outBits[i] = sign | 0x7f800000 | ((magnitude & 0x3ff) << 13);
    } else if (magnitude >= 0x0400) {
      outBits[i] = sign | ((magnitude << 13) + (112 << 23));
    } else {
      const value = magnitude * 2 ** -24;
      out[i] = sign === 0 ? value : -value;
    }
  }
  return out;
}

/**
 * Encodes float32 values to bfloat16 bit patterns (ties to even, as
 * {@link encodeBfloat16}), in one pass without per-element allocation.
 *
 * @param out - where to write (at least `values.length` long); a new array when omitted.
 * @throws RangeError if `out` is too short.
 */
export function float32ToBfloat16Bits(values: Float32Array, out = new Uint16Array(values.length)): Uint16Array {
  checkOutput('Uint16Array', out, values.length);
  const bits = float32BitsOf(values);
  for (let i = 0; i < bits.length; i++) {
    const x = bits[i]!;
    out[i] = (x & 0x7fffffff) > 0x7f800000 ? BFLOAT16_NAN : (x + 0x7fff + ((x >>> 16) & 1)) >>> 16;
  }
  return out;
}

/**
 * Decodes bfloat16 bit patterns to float32 (exact; NaN payloads kept).
 *
 * @param out - where to write (at least `bits.length` long); a new array when omitted.
 * @throws RangeError if `out` is too short.
 */
export function bfloat16BitsToFloat32(bits: Uint16Array, out = new Float32Array(bits.length)): Float32Array {
  checkOutput('Float32Array', out, bits.length);
  const outBits = float32BitsOf(out);
  for (let i = 0; i < bits.length; i++) outBits[i] = bits[i]! << 16;
  return out;
}

const byteTables = new Map<NarrowFloatDataType, Float32Array>();

function byteTable(dataType: NarrowFloatDataType): Float32Array {
  let table = byteTables.get(dataType);
  if (table === undefined) {
    const decode = narrowFloatDecoder(dataType);
    table = new Float32Array(256);
    for (let bits = 0; bits < 256; bits++) table[bits] = decode(bits);
    byteTables.set(dataType, table);
  }
  return table;
}

/**
 * Decodes the bit patterns `tensorData()` returns for a narrow float type
 * (Uint16Array for float16/bfloat16, one Uint8Array byte per element for the
 * float8 types, float8e8m0 and float4e2m1) to float32 values. Exact, except
 * that e8m0's 2^127 and 2^-127 are float32's largest power of two and a subnormal.
 *
 * @throws RangeError if `bits` is not the array kind of `dataType`, or `out` is too short.
 */
export function narrowFloatBitsToFloat32(
  dataType: NarrowFloatDataType,
  bits: Uint8Array | Uint16Array,
  out = new Float32Array(bits.length),
): Float32Array {
  const wide = dataType === DataType.FLOAT16 || dataType === DataType.BFLOAT16;
  if (wide !== bits instanceof Uint16Array) {
    throw new RangeError(`bit patterns of data type ${dataType} must be a ${wide ? 'Uint16Array' : 'Uint8Array'}`);
  }
  if (bits instanceof Uint16Array) {
    return dataType === DataType.FLOAT16 ? float16BitsToFloat32(bits, out) : bfloat16BitsToFloat32(bits, out);
  }
  checkOutput('Float32Array', out, bits.length);
  const table = byteTable(dataType);
  for (let i = 0; i < bits.length; i++) out[i] = table[bits[i]!]!;
  return out;
}
