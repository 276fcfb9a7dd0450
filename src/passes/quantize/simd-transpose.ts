/**
 * The byte transpose of the quantize kernel's WebAssembly module (see
 * simd-module.ts): a Gemm weight with transB is quantized as stored, [N, K],
 * and its int8 bytes laid out as [K, N] for MatMulInteger, in 16 × 16 tiles
 * of byte shuffles, one band of rows at a time.
 */
import { increment, op, valType, whileLoop, type Code, type FunctionSpec, type ValType } from './wasm-encoder.js';

const { i32, v128 } = valType;

/** Byte interleaves (`punpcklbw` / `punpckhbw` on x86): lanes 0–7, then 8–15, of two vectors, alternating. */
const interleaveLow = [0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23];
const interleaveHigh = [8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31];

/**
 * `transpose_bands(src, dst, dstStride, cols, firstRow, bandRows)`:
 * transposes rows [firstRow, firstRow + bandRows) of the byte matrix at `src`
 * (`cols` bytes a row) into columns of the matrix at `dst` (`dstStride` bytes
 * a row): src row r, column c goes to dst + c·dstStride + r. In 16 × 16
 * tiles, so cols, firstRow and bandRows are multiples of 16. A tile is 16
 * vectors (vector = row r, lane = column c, four bits each); four rounds of
 * interleaving the vectors that differ in one row bit, from the highest down,
 * move each row bit from the vector index into the lane index and each
 * column bit the other way, which leaves vector = c, lane = r.
 */
export const transposeBands: FunctionSpec = (() => {
  const [src, dst, dstStride, cols, firstRow, bandRows] = [0, 1, 2, 3, 4, 5];
  const [r, c, from, to] = [6, 7, 8, 9];
  const tile = Array.from({ length: 16 }, (_, i) => 10 + i);
  const body: Code = [];
  // Load: vector i = 16 bytes of row r + i at column c.
  const load: Code = [op.get(src), op.get(r), op.get(cols), op.i32Mul, op.i32Add, op.get(c), op.i32Add, op.set(from)];
  for (let i = 0; i < 16; i++) {
    load.push(op.get(from), op.v128Load(), op.set(tile[i]!));
    if (i < 15) load.push(op.get(from), op.get(cols), op.i32Add, op.set(from));
  }
  const rounds: Code = [];
  for (const bit of [8, 4, 2, 1]) {
    for (let a = 0; a < 16; a++) {
      if ((a & bit) !== 0) continue;
      const [low, high] = [tile[a]!, tile[a + bit]!];
      rounds.push(op.get(low), op.get(high), op.i8x16Shuffle(interleaveLow), op.get(low), op.get(high), op.i8x16Shuffle(interleaveHigh), op.set(high), op.set(low));
    }
  }
  // Store: vector j is column c + j, bytes for rows r … r + 15.
  const store: Code = [op.get(dst), op.get(c), op.get(dstStride), op.i32Mul, op.i32Add, op.get(r), op.i32Add, op.set(to)];
  for (let j = 0; j < 16; j++) {
    store.push(op.get(to), op.get(tile[j]!), op.v128Store());
    if (j < 15) store.push(op.get(to), op.get(dstStride), op.i32Add, op.set(to));
  }
  body.push(
    op.get(firstRow), op.set(r),
    ...whileLoop([op.get(r), op.get(firstRow), op.get(bandRows), op.i32Add, op.i32GeU], [
      op.i32Const(0), op.set(c),
      ...whileLoop([op.get(c), op.get(cols), op.i32GeU], [...load, ...rounds, ...store, ...increment(c, 16)]),
      ...increment(r, 16),
    ]),
  );
  return {
    name: 'transpose_bands',
    params: [i32, i32, i32, i32, i32, i32],
    locals: [i32, i32, i32, i32, ...Array<ValType>(16).fill(v128)],
    body,
  };
})();

/**
 * `scatter_rows(src, dst, count, length, dstStride)`: copies `count` rows of
 * `length` bytes (a multiple of 16) from `src`, where they follow each
 * other, to `dst`, `dstStride` bytes apart: a transposed band into its
 * columns of the whole transposed matrix.
 */
export const scatterRows: FunctionSpec = (() => {
  const [src, dst, count, length, dstStride] = [0, 1, 2, 3, 4];
  const [i, k, from, to] = [5, 6, 7, 8];
  return {
    name: 'scatter_rows',
    params: [i32, i32, i32, i32, i32],
    locals: [i32, i32, i32, i32],
    body: [
      op.get(src), op.set(from),
      op.get(dst), op.set(to),
      op.i32Const(0), op.set(i),
      ...whileLoop([op.get(i), op.get(count), op.i32GeU], [
        op.i32Const(0), op.set(k),
        ...whileLoop([op.get(k), op.get(length), op.i32GeU], [
          op.get(to), op.get(k), op.i32Add,
          op.get(from), op.get(k), op.i32Add, op.v128Load(),
          op.v128Store(),
          ...increment(k, 16),
        ]),
        op.get(from), op.get(length), op.i32Add, op.set(from),
        op.get(to), op.get(dstStride), op.i32Add, op.set(to),
        ...increment(i, 1),
      ]),
    ],
  };
})();
