/**
 * The WebAssembly SIMD functions of the quantize kernel, written out
 * instruction by instruction (see wasm-encoder.ts). They compute exactly what
 * kernel.ts's `quantizeWeights` computes, four floats per instruction:
 *
 * - `ranges_columns` / `ranges_run`: per-channel minimum and maximum with
 *   `x < lo ? x : lo` semantics (`f32x4.pmin`/`pmax`), so NaN is skipped as
 *   in the JavaScript loop and the result is the same value whatever the order.
 * - `quantize_columns` / `quantize_run`: `q = clamp(nearest(x / scale) + zp)`,
 *   where float32 division and round-half-to-even are what kernel.ts's
 *   `Math.fround(x / scale)` and its rounding trick compute (a float64
 *   quotient of two float32 values rounds to the correctly rounded float32
 *   one); the bytes are the low byte of q. The SQNR terms are formed in
 *   float32 (see `group`), so the SQNR agrees with kernel.ts's float64 one to
 *   about 1e-3 dB rather than bit for bit.
 *
 * - `transpose_bands` / `scatter_rows`: the [rows, cols] → [cols, rows] byte
 *   transpose of a Gemm weight with transB, in 16 × 16 tiles of shuffles,
 *   band by band.
 *
 * `_columns` walks row-major data whose channel is the fastest-varying axis
 * (MatMul weights per column); `_run` walks one contiguous run of a single
 * channel (Conv and transposed Gemm weights per output channel, or a whole
 * per-tensor weight). Sums accumulate into `sums` (signal, noise; float64),
 * and ranges into the caller's minimum and maximum, so that a tensor can be
 * processed in several calls.
 */
import { scatterRows, transposeBands } from './simd-transpose.js';
import { encodeModule, increment, op, valType, whileLoop, type Code, type FunctionSpec, type ValType } from './wasm-encoder.js';

const { i32, f32, f64, v128 } = valType;

/** The low byte of each 32-bit lane of two vectors, in bytes 0–7. */
const lowBytes = [0, 4, 8, 12, 16, 20, 24, 28, 0, 4, 8, 12, 16, 20, 24, 28];
/** Bytes 0–7 of two vectors. */
const firstHalves = [0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23];
/** 1.5 · 2^23: added to an integer-valued float32 of magnitude below 2^22, it leaves the integer in the low mantissa bits. */
const ROUNDING_MAGIC_BITS = 0x4b400000;

/** Bytes 8–15 of a vector into bytes 0–7: the high two floats, for `f64x2.promote_low_f32x4`. */
const highHalf = [8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15];

/** `select`-based update keeping NaN out: local = x < local ? x : local (or `>`). */
function keepExtreme(local: number, value: Code, compare: readonly number[], scratch: number): Code {
  return [...value, op.set(scratch), op.get(scratch), op.get(local), op.get(scratch), op.get(local), compare, op.select, op.set(local)];
}

const rangesColumns: FunctionSpec = (() => {
  const [data, rows, cols, mins, maxs] = [0, 1, 2, 3, 4];
  const [r, c, row, p, x, xs, current] = [5, 6, 7, 8, 9, 10, 11];
  const update = (target: number, pminOrPmax: readonly number[]): Code => [
    op.get(target), op.get(p), op.i32Add,
    op.get(target), op.get(p), op.i32Add, op.v128Load(), op.get(x), pminOrPmax,
    op.v128Store(),
  ];
  const updateScalar = (target: number, compare: readonly number[]): Code => [
    op.get(target), op.get(p), op.i32Add,
    op.get(xs), op.get(target), op.get(p), op.i32Add, op.f32Load(), op.tee(current), op.get(xs), op.get(current), compare, op.select,
    op.f32Store(),
  ];
  return {
    name: 'ranges_columns',
    params: [i32, i32, i32, i32, i32],
    locals: [i32, i32, i32, i32, v128, f32, f32],
    body: [
      op.i32Const(0), op.set(r),
      ...whileLoop([op.get(r), op.get(rows), op.i32GeU], [
        op.get(data), op.get(r), op.get(cols), op.i32Mul, op.i32Const(2), op.i32Shl, op.i32Add, op.set(row),
        op.i32Const(0), op.set(c),
        ...whileLoop([op.get(c), op.i32Const(4), op.i32Add, op.get(cols), op.i32GtU], [
          op.get(c), op.i32Const(2), op.i32Shl, op.set(p),
          op.get(row), op.get(p), op.i32Add, op.v128Load(), op.set(x),
          ...update(mins, op.f32x4Pmin),
          ...update(maxs, op.f32x4Pmax),
          ...increment(c, 4),
        ]),
        ...whileLoop([op.get(c), op.get(cols), op.i32GeU], [
          op.get(c), op.i32Const(2), op.i32Shl, op.set(p),
          op.get(row), op.get(p), op.i32Add, op.f32Load(), op.set(xs),
          ...updateScalar(mins, op.f32Lt),
          ...updateScalar(maxs, op.f32Gt),
          ...increment(c, 1),
        ]),
        ...increment(r, 1),
      ]),
    ],
  };
})();

const rangesRun: FunctionSpec = (() => {
  const [data, count, minAt, maxAt] = [0, 1, 2, 3];
  const [i, lo, hi, x, lowest, highest, lane] = [4, 5, 6, 7, 8, 9, 10];
  const lanes: Code = [];
  for (let k = 0; k < 4; k++) {
    lanes.push(...keepExtreme(lowest, [op.get(lo), op.f32x4ExtractLane(k)], op.f32Lt, lane));
    lanes.push(...keepExtreme(highest, [op.get(hi), op.f32x4ExtractLane(k)], op.f32Gt, lane));
  }
  return {
    name: 'ranges_run',
    params: [i32, i32, i32, i32],
    locals: [i32, v128, v128, v128, f32, f32, f32],
    body: [
      op.get(minAt), op.f32Load(), op.f32x4Splat, op.set(lo),
      op.get(maxAt), op.f32Load(), op.f32x4Splat, op.set(hi),
      op.i32Const(0), op.set(i),
      ...whileLoop([op.get(i), op.i32Const(4), op.i32Add, op.get(count), op.i32GtU], [
        op.get(data), op.get(i), op.i32Const(2), op.i32Shl, op.i32Add, op.v128Load(), op.set(x),
        op.get(lo), op.get(x), op.f32x4Pmin, op.set(lo),
        op.get(hi), op.get(x), op.f32x4Pmax, op.set(hi),
        ...increment(i, 4),
      ]),
      op.get(minAt), op.f32Load(), op.set(lowest),
      op.get(maxAt), op.f32Load(), op.set(highest),
      ...whileLoop([op.get(i), op.get(count), op.i32GeU], [
        ...keepExtreme(lowest, [op.get(data), op.get(i), op.i32Const(2), op.i32Shl, op.i32Add, op.f32Load()], op.f32Lt, lane),
        ...keepExtreme(highest, [op.get(data), op.get(i), op.i32Const(2), op.i32Shl, op.i32Add, op.f32Load()], op.f32Gt, lane),
        ...increment(i, 1),
      ]),
      ...lanes,
      op.get(minAt), op.get(lowest), op.f32Store(),
      op.get(maxAt), op.get(highest), op.f32Store(),
    ],
  };
})();

/** Locals shared by the two quantize functions (indices differ; see `quantizeLocals`). */
interface QuantizeLocals {
  qmin: number; qmax: number; sums: number;
  qminV: number; qmaxV: number; magic: number;
  sig0: number; sig1: number; noi0: number; noi1: number;
  x: number; s: number; z: number; q: number; quads: [number, number, number, number];
  lo: number; hi: number; e: number;
  xs: number; qs: number; sigS: number; noiS: number; xd: number; ed: number;
}

/** Local types after `first`: 3 v128 setup, 4 accumulators, 11 work vectors, then f32 ×2 and f64 ×4. */
function quantizeLocals(first: number, params: { qmin: number; qmax: number; sums: number }): { locals: QuantizeLocals; types: ValType[] } {
  let next = first;
  const take = (): number => next++;
  const locals: QuantizeLocals = {
    ...params,
    qminV: take(), qmaxV: take(), magic: take(),
    sig0: take(), sig1: take(), noi0: take(), noi1: take(),
    x: take(), s: take(), z: take(), q: take(), quads: [take(), take(), take(), take()],
    lo: take(), hi: take(), e: take(),
    xs: take(), qs: take(), sigS: take(), noiS: take(), xd: take(), ed: take(),
  };
  const types: ValType[] = [...Array<ValType>(18).fill(v128), f32, f32, f64, f64, f64, f64];
  return { locals, types };
}

/** How a quantize function finds its operands for the 16 elements starting at its cursor. */
interface Operands {
  /** Pushes the address of float k (0, 4, 8, 12) of the group's data, or of the scalar element. */
  data: Code;
  /** Pushes the address of the group's or element's output byte. */
  out: Code;
  /** Pushes the four scales / zero points of quad k (vector), or the element's (scalar). */
  scales: (quad: number) => Code;
  zeroPoints: (quad: number) => Code;
  scalarScale: Code;
  scalarZeroPoint: Code;
  scalarScale64: Code;
}

function setup(l: QuantizeLocals): Code {
  return [
    op.get(l.qmin), op.f32x4Splat, op.set(l.qminV),
    op.get(l.qmax), op.f32x4Splat, op.set(l.qmaxV),
    op.i32Const(ROUNDING_MAGIC_BITS), op.i32x4Splat, op.set(l.magic),
  ];
}

/**
 * Quantizes 16 floats: four quads, then the narrowed bytes in one store.
 * The SQNR terms x² and (x − (q − zp)·scale)² are formed in float32 and
 * summed over the group's four quads in float32, then added to float64
 * accumulators: a quarter of the float64 work, for an SQNR within about
 * 1e-3 dB of kernel.ts's float64 one (the error term loses about 1e-5 of
 * itself to cancellation).
 */
function group(l: QuantizeLocals, at: Operands): Code {
  const code: Code = [];
  const [squares, errors] = [l.lo, l.hi];
  for (let k = 0; k < 4; k++) {
    code.push(
      ...at.data, op.v128Load(16 * k), op.set(l.x),
      ...at.scales(k), op.set(l.s),
      ...at.zeroPoints(k), op.set(l.z),
      // Clamped with pmin/pmax (one instruction each; min/max spend several on NaN and −0, which cannot occur here).
      op.get(l.qminV), op.get(l.qmaxV),
      op.get(l.x), op.get(l.s), op.f32x4Div, op.f32x4Nearest, op.get(l.z), op.f32x4Add,
      op.f32x4Pmin, op.f32x4Pmax, op.tee(l.q),
      // q + 1.5·2^23 holds the integer q in the low bits of its float32 encoding: its low byte is q's.
      op.get(l.magic), op.f32x4Add, op.set(l.quads[k]!),
      op.get(l.x), op.get(l.q), op.get(l.z), op.f32x4Sub, op.get(l.s), op.f32x4Mul, op.f32x4Sub, op.set(l.e),
    );
    if (k === 0) {
      code.push(op.get(l.x), op.get(l.x), op.f32x4Mul, op.set(squares), op.get(l.e), op.get(l.e), op.f32x4Mul, op.set(errors));
    } else {
      code.push(
        op.get(squares), op.get(l.x), op.get(l.x), op.f32x4Mul, op.f32x4Add, op.set(squares),
        op.get(errors), op.get(l.e), op.get(l.e), op.f32x4Mul, op.f32x4Add, op.set(errors),
      );
    }
  }
  const accumulate = (target: number, partial: number, high: boolean): Code => [
    op.get(target), op.get(partial), ...(high ? [op.get(partial), op.i8x16Shuffle(highHalf)] : []), op.f64x2PromoteLowF32x4, op.f64x2Add, op.set(target),
  ];
  code.push(...accumulate(l.sig0, squares, false), ...accumulate(l.sig1, squares, true), ...accumulate(l.noi0, errors, false), ...accumulate(l.noi1, errors, true));
  const [q0, q1, q2, q3] = l.quads;
  code.push(
    ...at.out,
    op.get(q0), op.get(q1), op.i8x16Shuffle(lowBytes),
    op.get(q2), op.get(q3), op.i8x16Shuffle(lowBytes),
    op.i8x16Shuffle(firstHalves),
    op.v128Store(),
  );
  return code;
}

/** Quantizes one float: the same operations on scalars; the byte is the low byte of q. */
function single(l: QuantizeLocals, at: Operands): Code {
  return [
    ...at.data, op.f32Load(), op.set(l.xs),
    op.get(l.qmin), op.get(l.qmax),
    op.get(l.xs), ...at.scalarScale, op.f32Div, op.f32Nearest, ...at.scalarZeroPoint, op.f32Add,
    op.f32Min, op.f32Max, op.set(l.qs),
    ...at.out, op.get(l.qs), op.i32TruncSatF32S, op.i32Store8(),
    op.get(l.xs), op.f64PromoteF32, op.set(l.xd),
    op.get(l.sigS), op.get(l.xd), op.get(l.xd), op.f64Mul, op.f64Add, op.set(l.sigS),
    op.get(l.xd), op.get(l.qs), ...at.scalarZeroPoint, op.f32Sub, op.f64PromoteF32, ...at.scalarScale64, op.f64Mul, op.f64Sub, op.set(l.ed),
    op.get(l.noiS), op.get(l.ed), op.get(l.ed), op.f64Mul, op.f64Add, op.set(l.noiS),
  ];
}

/** sums[0] += Σ signal lanes, sums[1] += Σ noise lanes. */
function storeSums(l: QuantizeLocals): Code {
  const add = (offset: number, a: number, b: number, scalar: number): Code => [
    op.get(l.sums),
    op.get(l.sums), op.f64Load(offset),
    op.get(a), op.f64x2ExtractLane(0), op.f64Add, op.get(a), op.f64x2ExtractLane(1), op.f64Add,
    op.get(b), op.f64x2ExtractLane(0), op.f64Add, op.get(b), op.f64x2ExtractLane(1), op.f64Add,
    op.get(scalar), op.f64Add,
    op.f64Store(offset),
  ];
  return [...add(0, l.sig0, l.sig1, l.sigS), ...add(8, l.noi0, l.noi1, l.noiS)];
}

const quantizeColumns: FunctionSpec = (() => {
  const [data, out, rows, cols, scales, zeroPoints, scales64] = [0, 1, 2, 3, 4, 5, 6];
  const [r, c, rowData, rowOut] = [10, 11, 12, 13];
  const { locals: l, types } = quantizeLocals(14, { qmin: 7, qmax: 8, sums: 9 });
  const byColumn = (base: number, shift: number): Code => [op.get(base), op.get(c), op.i32Const(shift), op.i32Shl, op.i32Add];
  const at: Operands = {
    data: byColumn(rowData, 2),
    out: [op.get(rowOut), op.get(c), op.i32Add],
    scales: (quad) => [...byColumn(scales, 2), op.v128Load(16 * quad)],
    zeroPoints: (quad) => [...byColumn(zeroPoints, 2), op.v128Load(16 * quad)],
    scalarScale: [...byColumn(scales, 2), op.f32Load()],
    scalarZeroPoint: [...byColumn(zeroPoints, 2), op.f32Load()],
    scalarScale64: [...byColumn(scales64, 3), op.f64Load()],
  };
  return {
    name: 'quantize_columns',
    params: [i32, i32, i32, i32, i32, i32, i32, f32, f32, i32],
    locals: [i32, i32, i32, i32, ...types],
    body: [
      ...setup(l),
      op.i32Const(0), op.set(r),
      ...whileLoop([op.get(r), op.get(rows), op.i32GeU], [
        op.get(data), op.get(r), op.get(cols), op.i32Mul, op.i32Const(2), op.i32Shl, op.i32Add, op.set(rowData),
        op.get(out), op.get(r), op.get(cols), op.i32Mul, op.i32Add, op.set(rowOut),
        op.i32Const(0), op.set(c),
        ...whileLoop([op.get(c), op.i32Const(16), op.i32Add, op.get(cols), op.i32GtU], [...group(l, at), ...increment(c, 16)]),
        ...whileLoop([op.get(c), op.get(cols), op.i32GeU], [...single(l, at), ...increment(c, 1)]),
        ...increment(r, 1),
      ]),
      ...storeSums(l),
    ],
  };
})();

const quantizeRun: FunctionSpec = (() => {
  const [data, out, count, scale, zeroPoint, scale64] = [0, 1, 2, 3, 4, 5];
  const [i, scaleV, zeroPointV] = [9, 10, 11];
  const { locals: l, types } = quantizeLocals(12, { qmin: 6, qmax: 7, sums: 8 });
  const at: Operands = {
    data: [op.get(data), op.get(i), op.i32Const(2), op.i32Shl, op.i32Add],
    out: [op.get(out), op.get(i), op.i32Add],
    scales: () => [op.get(scaleV)],
    zeroPoints: () => [op.get(zeroPointV)],
    scalarScale: [op.get(scale)],
    scalarZeroPoint: [op.get(zeroPoint)],
    scalarScale64: [op.get(scale64)],
  };
  return {
    name: 'quantize_run',
    params: [i32, i32, i32, f32, f32, f64, f32, f32, i32],
    locals: [i32, v128, v128, ...types],
    body: [
      ...setup(l),
      op.get(scale), op.f32x4Splat, op.set(scaleV),
      op.get(zeroPoint), op.f32x4Splat, op.set(zeroPointV),
      op.i32Const(0), op.set(i),
      ...whileLoop([op.get(i), op.i32Const(16), op.i32Add, op.get(count), op.i32GtU], [...group(l, at), ...increment(i, 16)]),
      ...whileLoop([op.get(i), op.get(count), op.i32GeU], [...single(l, at), ...increment(i, 1)]),
      ...storeSums(l),
    ],
  };
})();

/** The part of the WebAssembly JavaScript API used here (neither lib ES2022 nor @types/node 20 declare it). */
interface WebAssemblyApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { readonly exports: object };
}

/** A module's memory: its bytes, which `grow` (in 64 KiB pages) replaces by a larger buffer. */
export interface SimdMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}

/** The exports of the kernel module. */
export interface SimdExports {
  readonly memory: SimdMemory;
  ranges_columns(data: number, rows: number, cols: number, mins: number, maxs: number): void;
  ranges_run(data: number, count: number, minAt: number, maxAt: number): void;
  quantize_columns(
    data: number, out: number, rows: number, cols: number, scales: number, zeroPoints: number, scales64: number,
    qmin: number, qmax: number, sums: number,
  ): void;
  quantize_run(data: number, out: number, count: number, scale: number, zeroPoint: number, scale64: number, qmin: number, qmax: number, sums: number): void;
  transpose_bands(src: number, dst: number, dstStride: number, cols: number, firstRow: number, bandRows: number): void;
  scatter_rows(src: number, dst: number, count: number, length: number, dstStride: number): void;
}

const webAssembly = (globalThis as { WebAssembly?: WebAssemblyApi }).WebAssembly;
let compiled: object | null | undefined;

/**
 * A new instance of the kernel module (with its own memory), or undefined
 * where this JavaScript engine has no WebAssembly SIMD. The module is
 * compiled once per thread.
 */
export function instantiateSimdKernel(): SimdExports | undefined {
  if (compiled === undefined) {
    try {
      compiled = webAssembly === undefined ? null : new webAssembly.Module(encodeModule([rangesColumns, rangesRun, quantizeColumns, quantizeRun, transposeBands, scatterRows], 1));
    } catch {
      // An engine without the SIMD instructions refuses the module: kernel.ts's loop does the work then.
      compiled = null;
    }
  }
  if (compiled === null || webAssembly === undefined) return undefined;
  return new webAssembly.Instance(compiled).exports as SimdExports;
}
