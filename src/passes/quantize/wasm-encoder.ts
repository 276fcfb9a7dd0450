/**
 * Just enough of the WebAssembly binary format (core spec 2.0, with the
 * fixed-width SIMD instructions) to build the quantize kernel's module at
 * run time from readable TypeScript, so that no compiled binary is checked
 * in and no toolchain is needed. Instructions are byte arrays; `op` names the
 * ones the kernel uses, with their opcodes from the specification's
 * instruction index; `whileLoop` and `increment` spell the kernel's loops.
 */

/** Value types. */
export const valType = { i32: 0x7f, f32: 0x7d, f64: 0x7c, v128: 0x7b } as const;
export type ValType = (typeof valType)[keyof typeof valType];

/** Unsigned LEB128. */
export function uleb(value: number): number[] {
  const bytes: number[] = [];
  let rest = value >>> 0;
  do {
    const byte = rest & 0x7f;
    rest >>>= 7;
    bytes.push(rest === 0 ? byte : byte | 0x80);
  } while (rest !== 0);
  return bytes;
}

/** Signed LEB128 of a 32-bit integer. */
export function sleb(value: number): number[] {
  const bytes: number[] = [];
  let rest = value | 0;
  for (;;) {
    const byte = rest & 0x7f;
    rest >>= 7;
    const done = (rest === 0 && (byte & 0x40) === 0) || (rest === -1 && (byte & 0x40) !== 0);
    bytes.push(done ? byte : byte | 0x80);
    if (done) return bytes;
  }
}

const simd = (code: number): number[] => [0xfd, ...uleb(code)];
/** A load or store with its memarg: alignment hint 1 byte (always valid; engines do not rely on it), and a constant offset. */
const memory = (opcode: number[], offset: number): number[] => [...opcode, 0, ...uleb(offset)];

/** The instructions the kernel uses. */
export const op = {
  block: [0x02, 0x40],
  loop: [0x03, 0x40],
  end: [0x0b],
  br: (depth: number) => [0x0c, ...uleb(depth)],
  brIf: (depth: number) => [0x0d, ...uleb(depth)],
  select: [0x1b],
  get: (local: number) => [0x20, ...uleb(local)],
  set: (local: number) => [0x21, ...uleb(local)],
  tee: (local: number) => [0x22, ...uleb(local)],
  i32Const: (value: number) => [0x41, ...sleb(value)],
  f32Load: (offset = 0) => memory([0x2a], offset),
  f64Load: (offset = 0) => memory([0x2b], offset),
  f32Store: (offset = 0) => memory([0x38], offset),
  f64Store: (offset = 0) => memory([0x39], offset),
  i32Store8: (offset = 0) => memory([0x3a], offset),
  i32GeU: [0x4f],
  i32GtU: [0x4b],
  f32Lt: [0x5d],
  f32Gt: [0x5e],
  i32Add: [0x6a],
  i32Mul: [0x6c],
  i32Shl: [0x74],
  f32Nearest: [0x90],
  f32Add: [0x92],
  f32Sub: [0x93],
  f32Div: [0x95],
  f32Min: [0x96],
  f32Max: [0x97],
  f64Add: [0xa0],
  f64Sub: [0xa1],
  f64Mul: [0xa2],
  f64PromoteF32: [0xbb],
  i32TruncSatF32S: [0xfc, 0x00],
  v128Load: (offset = 0) => memory(simd(0x00), offset),
  v128Store: (offset = 0) => memory(simd(0x0b), offset),
  i8x16Shuffle: (lanes: readonly number[]) => [...simd(0x0d), ...lanes],
  i32x4Splat: simd(0x11),
  f32x4Splat: simd(0x13),
  f32x4ExtractLane: (lane: number) => [...simd(0x1f), lane],
  f64x2ExtractLane: (lane: number) => [...simd(0x21), lane],
  f64x2PromoteLowF32x4: simd(0x5f),
  f32x4Nearest: simd(0x6a),
  f32x4Add: simd(0xe4),
  f32x4Sub: simd(0xe5),
  f32x4Mul: simd(0xe6),
  f32x4Div: simd(0xe7),
  f32x4Pmin: simd(0xea),
  f32x4Pmax: simd(0xeb),
  f64x2Add: simd(0xf0),
} as const;

/** Instructions, as `FunctionSpec.body` takes them. */
export type Code = (number | readonly number[])[];

/** A loop that leaves as soon as `exit` pushes a non-zero i32, and otherwise runs `body` and goes round again. */
export function whileLoop(exit: Code, body: Code): Code {
  return [op.block, op.loop, ...exit, op.brIf(1), ...body, op.br(0), op.end, op.end];
}

/** `local += step` on an i32 local. */
export function increment(local: number, step: number): Code {
  return [op.get(local), op.i32Const(step), op.i32Add, op.set(local)];
}

/** One exported function. */
export interface FunctionSpec {
  readonly name: string;
  readonly params: readonly ValType[];
  /** Locals after the parameters (their indices follow the parameters'). */
  readonly locals: readonly ValType[];
  /** The instructions, without the final `end`. */
  readonly body: Readonly<Code>;
}

function section(id: number, content: number[]): number[] {
  return [id, ...uleb(content.length), ...content];
}

function vector(items: readonly number[][]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

function name(text: string): number[] {
  const bytes = [...new TextEncoder().encode(text)];
  return [...uleb(bytes.length), ...bytes];
}

/**
 * A module exporting `functions` (no results) and its memory as `memory`,
 * of `minPages` pages of 64 KiB to start with.
 */
export function encodeModule(functions: readonly FunctionSpec[], minPages: number): Uint8Array {
  const types = section(1, vector(functions.map((fn) => [0x60, ...uleb(fn.params.length), ...fn.params, 0])));
  const declarations = section(3, vector(functions.map((_, index) => uleb(index))));
  const memories = section(5, vector([[0x00, ...uleb(minPages)]]));
  const exports = section(7, vector([...functions.map((fn, index) => [...name(fn.name), 0x00, ...uleb(index)]), [...name('memory'), 0x02, 0]]));
  const bodies = functions.map((fn) => {
    const locals = vector(fn.locals.map((type) => [1, type]));
    const code = [...locals, ...fn.body.flatMap((item) => (typeof item === 'number' ? [item] : [...item])), 0x0b];
    return [...uleb(code.length), ...code];
  });
  const code = section(10, vector(bodies));
  return new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, ...types, ...declarations, ...memories, ...exports, ...code]);
}
