/**
 * A schema-driven protobuf codec for ONNX that round-trips files exactly.
 *
 * protobufjs supplies the field table (schema.ts); the wire work is done here
 * because the generated protobufjs codecs drop unknown fields, turn int64 into
 * lossy numbers or Long objects, copy every bytes field, and always re-encode
 * in canonical form. This codec instead:
 * - decodes `bytes` as zero-copy views into the source buffer;
 * - decodes int64/uint64 as bigint;
 * - remembers, per message and only when the file deviates from canonical
 *   protobuf output (fields out of number order, packed where the schema says
 *   unpacked or the reverse, unknown fields, non-canonical varints, invalid
 *   UTF-8, NaN payloads), the exact layout and bytes, and reproduces them on
 *   encode while the message still holds the same values;
 * - bounds every length against the bytes that remain and limits nesting.
 */
import { ModelFormatError, MlctlError } from '../common/errors.js';
import { messageDescriptor, type FieldDescriptor, type MessageDescriptor } from './schema.js';
import { decodeUtf8, decodeUtf8Lenient, encodeUtf8, varintSize, WireReader, WireType, WireWriter } from './wire.js';

/** Default limit on message nesting; protobuf's own parsers use 100. */
export const DEFAULT_MAX_DEPTH = 100;

/** A decoded message: a plain object keyed by camelCase field names. */
export type ProtoMessage = Record<string, unknown>;

/** A run of consecutive occurrences of one field, or one unknown field, as laid out in the file. */
interface FieldRun {
  readonly field: FieldDescriptor;
  count: number;
  readonly packed: boolean;
  /** Where the run's bytes are exact but would not be re-encoded to the same bytes. */
  readonly verbatim?: Uint8Array;
  /** The decoded values of a verbatim run, to tell whether the message still holds them. */
  readonly values?: unknown[];
  /** Byte span of a singular field's occurrence (to keep an overridden earlier occurrence). */
  readonly start: number;
  readonly end: number;
  /** Bytes of the tag and of the length prefix where the file padded them (valid, non-minimal varints). */
  readonly tagWidth?: number;
  readonly lengthWidth?: number;
}
interface RawRun {
  readonly raw: Uint8Array;
}
type Run = FieldRun | RawRun;

const LAYOUT = Symbol('mlctl.onnx.layout');

interface DecodeContext {
  readonly maxDepth: number;
}

const RESTART = Symbol('restart');

function isPackedWire(field: FieldDescriptor, wireType: number): boolean {
  return field.packable && wireType === WireType.lengthDelimited;
}

/** Reads one scalar; returns the value and whether re-encoding it reproduces its bytes. */
function readScalar(r: WireReader, field: FieldDescriptor): { value: unknown; exact: boolean } {
  const start = r.pos;
  switch (field.kind) {
    case 'int32':
    case 'enum': {
      const first = r.bytes[start];
      if (first !== undefined && first < 0x80) {
        r.pos++;
        return { value: first, exact: true };
      }
      // Negative int32 values are sign-extended to 64 bits on the wire.
      const raw = r.uint64();
      const value = Number(BigInt.asIntN(32, raw));
      return { value, exact: raw === BigInt.asUintN(64, BigInt(value)) && r.pos - start === varintSize(raw) };
    }
    case 'uint32': {
      const raw = r.uint64();
      const value = Number(BigInt.asUintN(32, raw));
      return { value, exact: raw === BigInt(value) && r.pos - start === varintSize(raw) };
    }
    case 'int64': {
      const raw = r.uint64();
      return { value: BigInt.asIntN(64, raw), exact: r.pos - start === varintSize(raw) };
    }
    case 'uint64': {
      const value = r.uint64();
      return { value, exact: r.pos - start === varintSize(value) };
    }
    case 'sint32': {
      const raw64 = r.uint64();
      const raw = Number(BigInt.asUintN(32, raw64));
      return { value: (raw >>> 1) ^ -(raw & 1), exact: raw64 === BigInt(raw) && r.pos - start === varintSize(raw) };
    }
    case 'sint64': {
      const raw = r.uint64();
      return { value: (raw >> 1n) ^ -(raw & 1n), exact: r.pos - start === varintSize(raw) };
    }
    case 'bool': {
      const raw = r.uint64();
      return { value: raw !== 0n, exact: raw <= 1n && r.pos - start === 1 };
    }
    case 'float': {
      const view = r.fixed32();
      const value = view.getFloat32(start, true);
      return { value, exact: value === value || view.getUint32(start, true) === 0x7fc00000 };
    }
    case 'double': {
      const view = r.fixed64();
      const value = view.getFloat64(start, true);
      return { value, exact: value === value || view.getBigUint64(start, true) === 0x7ff8000000000000n };
    }
    case 'fixed32':
      return { value: r.fixed32().getUint32(start, true), exact: true };
    case 'sfixed32':
      return { value: r.fixed32().getInt32(start, true), exact: true };
    case 'fixed64':
      return { value: r.fixed64().getBigUint64(start, true), exact: true };
    case 'sfixed64':
      return { value: r.fixed64().getBigInt64(start, true), exact: true };
    default:
      throw new Error(`readScalar: ${field.kind} is not a scalar`);
  }
}

function decodeBody(
  r: WireReader,
  end: number,
  desc: MessageDescriptor,
  depth: number,
  ctx: DecodeContext,
  record: boolean,
): ProtoMessage | typeof RESTART {
  const msg: ProtoMessage = {};
  for (const name of desc.repeatedNames) msg[name] = [];
  const runs: Run[] = [];
  const singularRun = new Map<number, number>();
  let lastNumber = 0;
  let lastPackedBlock = false;

  while (r.pos < end) {
    const start = r.pos;
    const tag = r.uint32();
    const tagWidth = r.pos - start;
    const fieldNumber = tag >>> 3;
    const wireType = tag & 7;
    if (fieldNumber === 0) r.fail(`invalid field number 0 in ${desc.name}`);
    const field = desc.byNumber.get(fieldNumber);
    const packedWire = field !== undefined && isPackedWire(field, wireType);

    if (field === undefined || (wireType !== field.wireType && !packedWire)) {
      // Unknown field (or a known number with a foreign wire type): keep its bytes.
      if (wireType === WireType.endGroup) r.fail(`unexpected end-group tag in ${desc.name}`);
      r.skip(wireType, end, fieldNumber, ctx.maxDepth - depth);
      if (!record) return RESTART;
      runs.push({ raw: r.bytes.subarray(start, r.pos) });
      continue;
    }

    // Canonical protobuf output: ascending field numbers, one run per field,
    // packing as the schema says.
    let canonical = fieldNumber > lastNumber ||
      (fieldNumber === lastNumber && field.repeated && !packedWire && !lastPackedBlock);
    if (packedWire !== field.packed && field.packable) canonical = false;
    lastNumber = fieldNumber;
    lastPackedBlock = packedWire;

    let length = 0;
    let lengthWidth = 0;
    if (wireType === WireType.lengthDelimited) {
      const lengthStart = r.pos;
      length = r.length(end);
      lengthWidth = r.pos - lengthStart;
    }
    const padded = tagWidth !== varintSize(tag) || (lengthWidth > 0 && lengthWidth !== varintSize(length));
    if (padded) canonical = false;

    let values: unknown[];
    let exact = true;
    if (packedWire) {
      const blockEnd = r.pos + length;
      values = [];
      while (r.pos < blockEnd) {
        const scalar = readScalar(r, field);
        values.push(scalar.value);
        exact &&= scalar.exact;
      }
      if (r.pos !== blockEnd) r.fail(`packed field ${field.name} of ${desc.name} overruns its length`);
      if (length === 0) canonical = false;
    } else if (field.kind === 'message') {
      if (depth + 1 > ctx.maxDepth) r.fail(`messages nested deeper than ${ctx.maxDepth} levels`);
      values = [decodeMessageAt(r, r.pos + length, field.message!, depth + 1, ctx)];
    } else if (field.kind === 'bytes') {
      values = [r.bytes.subarray(r.pos, r.pos + length)];
      r.pos += length;
    } else if (field.kind === 'string') {
      const bytes = r.bytes.subarray(r.pos, r.pos + length);
      r.pos += length;
      const text = decodeUtf8(bytes);
      exact = text !== undefined;
      values = [text ?? decodeUtf8Lenient(bytes)];
    } else {
      const scalar = readScalar(r, field);
      values = [scalar.value];
      exact = scalar.exact;
    }

    if (!record && (!canonical || !exact)) return RESTART;

    if (field.repeated) {
      const array = msg[field.name] as unknown[];
      for (const value of values) array.push(value);
    } else {
      msg[field.name] = values[0];
    }
    if (!record) continue;

    if (!field.repeated) {
      const previous = singularRun.get(fieldNumber);
      if (previous !== undefined) {
        // protobuf keeps the last occurrence; the earlier one survives as bytes.
        const run = runs[previous] as FieldRun;
        runs[previous] = { raw: r.bytes.subarray(run.start, run.end) };
      }
      singularRun.set(fieldNumber, runs.length);
    }
    const last = runs[runs.length - 1];
    if (
      exact && !padded && !packedWire && field.repeated && last !== undefined && 'field' in last &&
      last.field === field && !last.packed && last.verbatim === undefined && last.tagWidth === undefined
    ) {
      last.count++;
    } else if (exact && padded) {
      runs.push({ field, count: values.length, packed: packedWire, start, end: r.pos, tagWidth, lengthWidth });
    } else if (exact) {
      runs.push({ field, count: values.length, packed: packedWire, start, end: r.pos });
    } else {
      runs.push({ field, count: values.length, packed: packedWire, verbatim: r.bytes.subarray(start, r.pos), values, start, end: r.pos });
    }
  }
  if (r.pos !== end) r.fail(`field overruns the end of ${desc.name}`);
  if (record) Object.defineProperty(msg, LAYOUT, { value: runs, enumerable: false, writable: true });
  return msg;
}

function decodeMessageAt(r: WireReader, end: number, desc: MessageDescriptor, depth: number, ctx: DecodeContext): ProtoMessage {
  const start = r.pos;
  const first = decodeBody(r, end, desc, depth, ctx, false);
  if (first !== RESTART) return first;
  r.pos = start;
  return decodeBody(r, end, desc, depth, ctx, true) as ProtoMessage;
}

export interface DecodeOptions {
  /** Maximum message nesting depth (default 100). */
  maxDepth?: number;
}

/**
 * Decodes `bytes` as the named ONNX message (e.g. 'ModelProto', 'TensorProto').
 * Byte fields in the result are views into `bytes`.
 * @throws ModelFormatError when the bytes are not a well-formed message.
 */
export function decodeMessage<T = ProtoMessage>(typeName: string, bytes: Uint8Array, options: DecodeOptions = {}): T {
  const desc = messageDescriptor(typeName);
  // A Node Buffer's subarray() is a Buffer (whose slice() shares memory):
  // decode from a plain Uint8Array view so byte fields are plain views too.
  const plain = Object.getPrototypeOf(bytes) === Uint8Array.prototype ? bytes : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const reader = new WireReader(plain);
  const ctx: DecodeContext = { maxDepth: options.maxDepth ?? DEFAULT_MAX_DEPTH };
  try {
    return decodeMessageAt(reader, bytes.length, desc, 0, ctx) as T;
  } catch (error) {
    if (error instanceof MlctlError) throw error;
    if (error instanceof RangeError) {
      // Deep recursion can exhaust the JS stack before maxDepth on small stacks.
      throw new ModelFormatError(`cannot decode ${desc.name}: ${error.message}`, { cause: error });
    }
    throw error;
  }
}

// ---------------------------------------------------------------------------
// Encoding

/** Varint widths a file used for one field occurrence's tag and length prefix (0: minimal). */
interface Widths {
  readonly tagWidth?: number;
  readonly lengthWidth?: number;
}

interface Plan {
  readonly size: number;
  readonly runs: Run[] | undefined;
}

/** Encodes with a memo of each message's size and layout, computed once per encode. */
class Encoder {
  private readonly plans = new Map<object, Plan>();

  plan(msg: ProtoMessage, desc: MessageDescriptor): Plan {
    let plan = this.plans.get(msg);
    if (plan !== undefined) return plan;
    const runs = validLayout(msg, desc);
    let size = 0;
    if (runs === undefined) {
      for (const field of desc.fields) {
        const value = msg[field.name];
        if (value === undefined || value === null) continue;
        if (field.repeated) {
          const array = value as unknown[];
          if (array.length > 0) size += this.fieldSize(field, array, 0, array.length, field.packed);
        } else {
          size += this.fieldSize(field, [value], 0, 1, false);
        }
      }
    } else {
      const cursor = new Map<FieldDescriptor, number>();
      for (const run of runs) {
        if ('raw' in run) {
          size += run.raw.length;
          continue;
        }
        const at = cursor.get(run.field) ?? 0;
        cursor.set(run.field, at + run.count);
        if (run.verbatim !== undefined) {
          size += run.verbatim.length;
        } else {
          const values = run.field.repeated ? (msg[run.field.name] as unknown[]) : [msg[run.field.name]];
          size += this.fieldSize(run.field, values, at, run.count, run.packed, run);
        }
      }
    }
    plan = { size, runs };
    this.plans.set(msg, plan);
    return plan;
  }

  private fieldSize(field: FieldDescriptor, values: unknown[], from: number, count: number, packed: boolean, widths?: Widths): number {
    const tagSize = Math.max(varintSize(field.number * 8), widths?.tagWidth ?? 0);
    const lengthSize = (length: number): number => Math.max(varintSize(length), widths?.lengthWidth ?? 0);
    if (packed) {
      const payload = payloadSize(field, values, from, count);
      return tagSize + lengthSize(payload) + payload;
    }
    let size = 0;
    for (let i = from; i < from + count; i++) {
      const value = values[i];
      if (field.kind === 'message') {
        const inner = this.plan(value as ProtoMessage, field.message!).size;
        size += tagSize + lengthSize(inner) + inner;
      } else if (field.kind === 'bytes' || field.kind === 'string') {
        const length = field.kind === 'string' ? utf8Length(value as string) : (value as Uint8Array).length;
        size += tagSize + lengthSize(length) + length;
      } else {
        size += tagSize + scalarSize(field, value);
      }
    }
    return size;
  }

  write(w: WireWriter, msg: ProtoMessage, desc: MessageDescriptor): void {
    const plan = this.plan(msg, desc);
    if (plan.runs === undefined) {
      for (const field of desc.fields) {
        const value = msg[field.name];
        if (value === undefined || value === null) continue;
        if (field.repeated) {
          const array = value as unknown[];
          if (array.length > 0) this.writeField(w, field, array, 0, array.length, field.packed);
        } else {
          this.writeField(w, field, [value], 0, 1, false);
        }
      }
      return;
    }
    const cursor = new Map<FieldDescriptor, number>();
    for (const run of plan.runs) {
      if ('raw' in run) {
        w.raw(run.raw);
        continue;
      }
      const at = cursor.get(run.field) ?? 0;
      cursor.set(run.field, at + run.count);
      if (run.verbatim !== undefined) {
        w.raw(run.verbatim);
      } else {
        const values = run.field.repeated ? (msg[run.field.name] as unknown[]) : [msg[run.field.name]];
        this.writeField(w, run.field, values, at, run.count, run.packed, run);
      }
    }
  }

  private writeField(w: WireWriter, field: FieldDescriptor, values: unknown[], from: number, count: number, packed: boolean, widths?: Widths): void {
    const tagWidth = widths?.tagWidth ?? 0;
    const lengthWidth = widths?.lengthWidth ?? 0;
    if (packed) {
      w.paddedVarint(field.number * 8 + WireType.lengthDelimited, tagWidth);
      w.paddedVarint(payloadSize(field, values, from, count), lengthWidth);
      for (let i = from; i < from + count; i++) writeScalar(w, field, values[i]);
      return;
    }
    for (let i = from; i < from + count; i++) {
      const value = values[i];
      if (field.kind === 'message') {
        w.paddedVarint(field.number * 8 + WireType.lengthDelimited, tagWidth);
        w.paddedVarint(this.plan(value as ProtoMessage, field.message!).size, lengthWidth);
        this.write(w, value as ProtoMessage, field.message!);
      } else if (field.kind === 'bytes') {
        w.paddedVarint(field.number * 8 + WireType.lengthDelimited, tagWidth);
        w.paddedVarint((value as Uint8Array).length, lengthWidth);
        w.raw(value as Uint8Array);
      } else if (field.kind === 'string') {
        const bytes = encodeUtf8(value as string);
        w.paddedVarint(field.number * 8 + WireType.lengthDelimited, tagWidth);
        w.paddedVarint(bytes.length, lengthWidth);
        w.raw(bytes);
      } else {
        w.paddedVarint(field.number * 8 + field.wireType, tagWidth);
        writeScalar(w, field, value);
      }
    }
  }
}

/**
 * The recorded layout of `msg`, if it still describes what `msg` holds
 * (same number of values per field, verbatim runs unchanged); else undefined,
 * and the message is encoded canonically.
 */
function validLayout(msg: ProtoMessage, desc: MessageDescriptor): Run[] | undefined {
  const runs = (msg as { [LAYOUT]?: Run[] })[LAYOUT];
  if (runs === undefined) return undefined;
  const counts = new Map<FieldDescriptor, number>();
  for (const run of runs) {
    if ('raw' in run) continue;
    const at = counts.get(run.field) ?? 0;
    if (run.verbatim !== undefined) {
      const current = run.field.repeated ? (msg[run.field.name] as unknown[]).slice(at, at + run.count) : [msg[run.field.name]];
      if (current.length !== run.values!.length || !current.every((v, i) => Object.is(v, run.values![i]))) return undefined;
    }
    counts.set(run.field, at + run.count);
  }
  for (const field of desc.fields) {
    const value = msg[field.name];
    const expected = counts.get(field) ?? 0;
    if (field.repeated) {
      if ((value as unknown[]).length !== expected) return undefined;
    } else if ((value === undefined || value === null) !== (expected === 0) || expected > 1) {
      return undefined;
    }
  }
  return runs;
}

function utf8Length(text: string): number {
  // Fast path for ASCII, the common case for ONNX names.
  let length = text.length;
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) >= 0x80) return Buffer.byteLength(text, 'utf8');
  }
  return length;
}

function toUint64(value: unknown): bigint {
  return BigInt.asUintN(64, typeof value === 'bigint' ? value : BigInt(value as number));
}

function scalarSize(field: FieldDescriptor, value: unknown): number {
  switch (field.kind) {
    case 'int32':
    case 'enum':
      return (value as number) < 0 ? 10 : varintSize(value as number);
    case 'uint32':
      return varintSize((value as number) >>> 0);
    case 'int64':
    case 'uint64':
      return varintSize(toUint64(value));
    case 'sint32':
      return varintSize(((((value as number) << 1) ^ ((value as number) >> 31)) >>> 0));
    case 'sint64': {
      const v = BigInt(value as bigint);
      return varintSize(BigInt.asUintN(64, (v << 1n) ^ (v >> 63n)));
    }
    case 'bool':
      return 1;
    case 'float':
    case 'fixed32':
    case 'sfixed32':
      return 4;
    default:
      return 8;
  }
}

function payloadSize(field: FieldDescriptor, values: unknown[], from: number, count: number): number {
  if (field.wireType === WireType.fixed32) return count * 4;
  if (field.wireType === WireType.fixed64) return count * 8;
  let size = 0;
  for (let i = from; i < from + count; i++) size += scalarSize(field, values[i]);
  return size;
}

function writeScalar(w: WireWriter, field: FieldDescriptor, value: unknown): void {
  switch (field.kind) {
    case 'int32':
    case 'enum':
      if ((value as number) < 0) w.uint64(BigInt.asUintN(64, BigInt(value as number)));
      else w.uint32(value as number);
      return;
    case 'uint32':
      w.uint32((value as number) >>> 0);
      return;
    case 'int64':
    case 'uint64':
      w.uint64(toUint64(value));
      return;
    case 'sint32':
      w.uint32(((((value as number) << 1) ^ ((value as number) >> 31)) >>> 0));
      return;
    case 'sint64': {
      const v = BigInt(value as bigint);
      w.uint64(BigInt.asUintN(64, (v << 1n) ^ (v >> 63n)));
      return;
    }
    case 'bool':
      w.uint32(value ? 1 : 0);
      return;
    case 'float':
      w.float32(value as number);
      return;
    case 'double':
      w.float64(value as number);
      return;
    case 'fixed32':
    case 'sfixed32':
      w.fixed32(value as number);
      return;
    default:
      w.fixed64(BigInt(value as bigint));
  }
}

export interface EncodedMessage {
  /** The serialized message, in order; large byte fields are views of the message's own buffers. */
  readonly chunks: Uint8Array[];
  readonly byteLength: number;
}

/** Largest message protobuf can address: lengths and offsets are 32-bit signed. */
export const MAX_PROTOBUF_BYTES = 2 ** 31 - 1;

/**
 * Bytes a message serializes to, computed without writing any; it may exceed
 * protobuf's 2 GiB limit (nothing is refused here).
 */
export function encodedSize(typeName: string, msg: object): number {
  return new Encoder().plan(msg as ProtoMessage, messageDescriptor(typeName)).size;
}

/**
 * Encodes a message as chunks, without copying large byte fields.
 * @throws MlctlError (MLCTL_TOO_LARGE) when the message exceeds protobuf's 2 GiB limit.
 */
export function encodeMessageChunks(typeName: string, msg: object): EncodedMessage {
  const desc = messageDescriptor(typeName);
  const encoder = new Encoder();
  const size = encoder.plan(msg as ProtoMessage, desc).size;
  if (size > MAX_PROTOBUF_BYTES) {
    throw new MlctlError(
      'MLCTL_TOO_LARGE',
      `the serialized ${desc.name.replace(/^onnx\./, '')} would be ${size} bytes, over protobuf's 2 GiB limit`,
      { hint: 'save the weights as external data (e.g. saveModel(..., { externalData: {...} }) or mlctl convert --external-data)' },
    );
  }
  const writer = new WireWriter(Math.min(Math.max(size, 1024), 4 * 1024 * 1024));
  encoder.write(writer, msg as ProtoMessage, desc);
  const chunks = writer.finish();
  if (writer.totalBytes !== size) throw new Error(`codec size mismatch: planned ${size}, wrote ${writer.totalBytes}`);
  return { chunks, byteLength: size };
}

/** Encodes a message into one contiguous buffer. */
export function encodeMessage(typeName: string, msg: object): Uint8Array {
  const { chunks, byteLength } = encodeMessageChunks(typeName, msg);
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(byteLength);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}
