/**
 * Protocol-buffer wire primitives over a Uint8Array: a bounds-checked reader
 * and a chunked writer that passes large byte fields through without copying.
 */
import { ModelFormatError } from '../common/errors.js';

export const WireType = { varint: 0, fixed64: 1, lengthDelimited: 2, startGroup: 3, endGroup: 4, fixed32: 5 } as const;

const textDecoder = new TextDecoder('utf-8', { fatal: true });
const lenientTextDecoder = new TextDecoder('utf-8');
const textEncoder = new TextEncoder();

/** Bounds-checked cursor over protobuf bytes; every read that would run past the end throws. */
export class WireReader {
  readonly bytes: Uint8Array;
  readonly view: DataView;
  pos: number;

  constructor(bytes: Uint8Array, start = 0) {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.pos = start;
  }

  fail(message: string): never {
    throw new ModelFormatError(`${message} at byte ${this.pos}`);
  }

  /** Reads a varint below 2^32 (tags and lengths); anything longer is malformed. */
  uint32(): number {
    const bytes = this.bytes;
    let result = 0;
    for (let i = 0; i < 5; i++) {
      if (this.pos >= bytes.length) this.fail('truncated varint');
      const b = bytes[this.pos++]!;
      result += (b & 0x7f) * 2 ** (7 * i);
      if (b < 0x80) {
        if (result >= 2 ** 32) break;
        return result;
      }
    }
    return this.fail('varint out of range for a tag or length');
  }

  /** Reads a full 64-bit varint as an unsigned bigint. */
  uint64(): bigint {
    const bytes = this.bytes;
    let lo = 0;
    let hi = 0;
    let i = 0;
    for (; i < 4; i++) {
      if (this.pos >= bytes.length) this.fail('truncated varint');
      const b = bytes[this.pos++]!;
      lo |= (b & 0x7f) << (i * 7);
      if (b < 0x80) return BigInt(lo >>> 0);
    }
    // Byte 4 carries bits 28..34: 4 bits to lo, 3 to hi.
    if (this.pos >= bytes.length) this.fail('truncated varint');
    let b = bytes[this.pos++]!;
    lo |= (b & 0x0f) << 28;
    hi = (b & 0x7f) >> 4;
    if (b < 0x80) return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
    for (i = 0; i < 5; i++) {
      if (this.pos >= bytes.length) this.fail('truncated varint');
      b = bytes[this.pos++]!;
      hi |= (b & 0x7f) << (i * 7 + 3);
      if (b < 0x80) return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
    }
    return this.fail('varint longer than 10 bytes');
  }

  fixed32(): DataView {
    if (this.pos + 4 > this.bytes.length) this.fail('truncated fixed32');
    this.pos += 4;
    return this.view;
  }

  fixed64(): DataView {
    if (this.pos + 8 > this.bytes.length) this.fail('truncated fixed64');
    this.pos += 8;
    return this.view;
  }

  /** Reads a length prefix and checks it against the bytes that remain before `end`. */
  length(end: number): number {
    const length = this.uint32();
    if (length > end - this.pos) {
      this.fail(`length prefix claims ${length} bytes but only ${end - this.pos} remain`);
    }
    return length;
  }

  /** Skips one field body of the given wire type (groups included). */
  skip(wireType: number, end: number, fieldNumber: number, depth: number): void {
    switch (wireType) {
      case WireType.varint:
        this.uint64();
        return;
      case WireType.fixed64:
        this.fixed64();
        return;
      case WireType.fixed32:
        this.fixed32();
        return;
      case WireType.lengthDelimited: {
        const length = this.length(end);
        this.pos += length;
        return;
      }
      case WireType.startGroup: {
        if (depth <= 0) this.fail('groups nested too deeply');
        for (;;) {
          if (this.pos >= end) this.fail(`unterminated group ${fieldNumber}`);
          const tag = this.uint32();
          const type = tag & 7;
          if (type === WireType.endGroup) {
            if (tag >>> 3 !== fieldNumber) this.fail('mismatched end of group');
            return;
          }
          this.skip(type, end, tag >>> 3, depth - 1);
        }
      }
      default:
        this.fail(`invalid wire type ${wireType}`);
    }
  }
}

/** Decodes UTF-8; returns undefined when the bytes are not valid UTF-8. */
export function decodeUtf8(bytes: Uint8Array): string | undefined {
  try {
    return textDecoder.decode(bytes);
  } catch {
    return undefined;
  }
}

export function decodeUtf8Lenient(bytes: Uint8Array): string {
  return lenientTextDecoder.decode(bytes);
}

export function encodeUtf8(text: string): Uint8Array {
  return textEncoder.encode(text);
}

/** Number of bytes of the canonical varint encoding of a non-negative value below 2^64. */
export function varintSize(value: number | bigint): number {
  if (typeof value === 'number') {
    if (value < 0x80) return 1;
    if (value < 0x4000) return 2;
    if (value < 0x200000) return 3;
    if (value < 0x10000000) return 4;
    if (value < 2 ** 35) return 5;
    value = BigInt(value);
  }
  let size = 1;
  while (value >= 0x80n) {
    value >>= 7n;
    size++;
  }
  return size;
}

/** Bytes above which a byte field is passed to the output as its own chunk instead of copied. */
const PASS_THROUGH_BYTES = 32 * 1024;

/**
 * Appends protobuf bytes into growing scratch blocks; large byte strings are
 * emitted as separate chunks referencing the caller's memory.
 */
export class WireWriter {
  private readonly chunks: Uint8Array[] = [];
  private block: Uint8Array;
  private view: DataView;
  private pos = 0;
  private blockStart = 0;
  totalBytes = 0;

  constructor(initialBlockBytes = 64 * 1024) {
    this.block = new Uint8Array(initialBlockBytes);
    this.view = new DataView(this.block.buffer);
  }

  private reserve(bytes: number): void {
    if (this.pos + bytes <= this.block.length) return;
    this.flushBlock();
    const size = Math.max(bytes, Math.min(this.block.length * 2, 16 * 1024 * 1024));
    this.block = new Uint8Array(size);
    this.view = new DataView(this.block.buffer);
    this.pos = 0;
    this.blockStart = 0;
  }

  private flushBlock(): void {
    if (this.pos > this.blockStart) this.chunks.push(this.block.subarray(this.blockStart, this.pos));
    this.blockStart = this.pos;
  }

  uint32(value: number): void {
    this.reserve(5);
    const block = this.block;
    while (value >= 0x80) {
      block[this.pos++] = (value & 0x7f) | 0x80;
      value = Math.floor(value / 128);
    }
    block[this.pos++] = value;
  }

  /** Writes a non-negative value below 2^64 as a varint. */
  uint64(value: bigint): void {
    if (value < 0x100000000n) {
      this.uint32(Number(value));
      return;
    }
    this.reserve(10);
    while (value >= 0x80n) {
      this.block[this.pos++] = Number(value & 0x7fn) | 0x80;
      value >>= 7n;
    }
    this.block[this.pos++] = Number(value);
  }

  tag(fieldNumber: number, wireType: number): void {
    this.uint32(fieldNumber * 8 + wireType);
  }

  /**
   * Writes a value below 2^32 as a varint of at least `width` bytes, padding
   * with continuation bytes (valid protobuf; some writers reserve length
   * prefixes this way). A width the value does not fit is ignored.
   */
  paddedVarint(value: number, width: number): void {
    const minimal = varintSize(value);
    if (width <= minimal) {
      this.uint32(value);
      return;
    }
    this.reserve(width);
    for (let i = 0; i < width - 1; i++) {
      this.block[this.pos++] = (value & 0x7f) | 0x80;
      value = Math.floor(value / 128);
    }
    this.block[this.pos++] = value;
  }

  float32(value: number): void {
    this.reserve(4);
    this.view.setFloat32(this.pos, value, true);
    this.pos += 4;
  }

  float64(value: number): void {
    this.reserve(8);
    this.view.setFloat64(this.pos, value, true);
    this.pos += 8;
  }

  fixed32(value: number): void {
    this.reserve(4);
    this.view.setUint32(this.pos, value >>> 0, true);
    this.pos += 4;
  }

  fixed64(value: bigint): void {
    this.reserve(8);
    this.view.setBigUint64(this.pos, BigInt.asUintN(64, value), true);
    this.pos += 8;
  }

  /** Raw bytes: copied when small, passed through as their own chunk when large. */
  raw(bytes: Uint8Array): void {
    if (bytes.length >= PASS_THROUGH_BYTES) {
      this.flushBlock();
      this.chunks.push(bytes);
      return;
    }
    this.reserve(bytes.length);
    this.block.set(bytes, this.pos);
    this.pos += bytes.length;
  }

  /** The written bytes as a list of chunks, in order. */
  finish(): Uint8Array[] {
    this.flushBlock();
    this.totalBytes = this.chunks.reduce((sum, chunk) => sum + chunk.length, 0);
    return this.chunks;
  }
}
