/**
 * Tensor data in Triton's binary tensor data extension, both ways:
 * little-endian, row-major, no padding; BOOL one byte (0 or 1) per element;
 * BYTES elements each a 4-byte little-endian length followed by that many
 * bytes (UTF-8 text here, since the runtime holds strings).
 *
 * Decoding copies into a new typed array: the body's bytes are neither
 * aligned for typed-array views nor owned by the tensor.
 */
import { endianness } from 'node:os';
import type { HostTensor, TensorData } from '../runtime/types.js';
import { allocateFixedSize, type V2DatatypeInfo } from './datatypes.js';
import { badRequest } from './http-error.js';

if (endianness() !== 'LE') {
  // Typed arrays use the host's byte order and the protocol is little-endian; no supported platform is big-endian.
  throw new Error('mlctl serve needs a little-endian host');
}

const utf8Decoder = new TextDecoder('utf-8', { fatal: true });
const utf8Encoder = new TextEncoder();

/**
 * The byte size binary data of `count` elements must have, or undefined for
 * BYTES, whose size depends on the strings.
 */
export function binarySizeOf(info: V2DatatypeInfo, count: number): number | undefined {
  return info.elementBytes === undefined ? undefined : info.elementBytes * count;
}

/**
 * Decodes one input's binary data.
 * @param bytes exactly the input's `binary_data_size` bytes (its size already checked for fixed-size types).
 * @throws HttpError 400 for a BOOL byte other than 0 and 1, and for BYTES elements whose
 *   lengths do not add up to the data's size or that are not UTF-8.
 */
export function decodeBinaryData(info: V2DatatypeInfo, bytes: Uint8Array, count: number, label: string): TensorData {
  if (info.elementBytes === undefined) return decodeBytesElements(bytes, count, label);
  const out = allocateFixedSize(info, count);
  new Uint8Array(out.buffer, out.byteOffset, out.byteLength).set(bytes);
  if (info.kind === 'bool') {
    const flags = out as Uint8Array;
    for (let i = 0; i < flags.length; i++) {
      if (flags[i]! > 1) throw badRequest(`${label}: BOOL element ${i} is the byte ${flags[i]!}; binary BOOL elements are 0 or 1`);
    }
  }
  return out;
}

function decodeBytesElements(bytes: Uint8Array, count: number, label: string): string[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Array<string>(count);
  let offset = 0;
  for (let i = 0; i < count; i++) {
    if (offset + 4 > bytes.length) {
      throw badRequest(`${label}: BYTES data ends after ${i} of ${count} elements (${bytes.length} bytes); each element needs a 4-byte length`);
    }
    const length = view.getUint32(offset, true);
    offset += 4;
    if (length > bytes.length - offset) {
      throw badRequest(`${label}: BYTES element ${i} claims ${length} bytes but only ${bytes.length - offset} remain in its binary data`);
    }
    try {
      out[i] = utf8Decoder.decode(bytes.subarray(offset, offset + length));
    } catch (error) {
      throw badRequest(`${label}: BYTES element ${i} is not UTF-8 text; this server passes BYTES to the model as strings`, error);
    }
    offset += length;
  }
  if (offset !== bytes.length) {
    throw badRequest(`${label}: binary_data_size is ${bytes.length} but its ${count} BYTES elements take ${offset} bytes`);
  }
  return out;
}

/**
 * An output's elements as binary data: a view of the tensor's own memory
 * for fixed-size types, a new buffer for strings.
 */
export function encodeBinaryData(tensor: HostTensor): Uint8Array {
  const data = tensor.data;
  if (!Array.isArray(data)) {
    const view = data as Exclude<TensorData, string[]>;
    return new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
  }
  const encoded = data.map((text) => utf8Encoder.encode(text));
  const total = encoded.reduce((sum, element) => sum + 4 + element.length, 0);
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  let offset = 0;
  for (const element of encoded) {
    view.setUint32(offset, element.length, true);
    out.set(element, offset + 4);
    offset += 4 + element.length;
  }
  return out;
}
