import { describe, expect, it } from 'vitest';
import { ModelFormatError } from '../../src/common/errors.js';
import { decodeMessage, encodeMessage, encodeMessageChunks } from '../../src/onnx/codec.js';
import type { AttributeProto, ModelProto, NodeProto, TensorProto } from '../../src/onnx/types.js';

/** Builds protobuf bytes from a readable list: numbers are bytes, strings are UTF-8, arrays are flattened. */
function bytes(...parts: Array<number | string | Uint8Array | number[]>): Uint8Array {
  const out: number[] = [];
  for (const part of parts) {
    if (typeof part === 'number') out.push(part);
    else if (typeof part === 'string') out.push(...new TextEncoder().encode(part));
    else out.push(...part);
  }
  return new Uint8Array(out);
}

function varint(value: bigint): number[] {
  const out: number[] = [];
  let v = BigInt.asUintN(64, value);
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return out;
}

function roundTrip(typeName: string, input: Uint8Array): Uint8Array {
  return encodeMessage(typeName, decodeMessage(typeName, input));
}

describe('codec: decoding', () => {
  it('decodes scalars, strings, bytes views and repeated fields', () => {
    // NodeProto: input "x", input "w", output "y", name "mm", op_type "MatMul"
    const input = bytes(0x0a, 1, 'x', 0x0a, 1, 'w', 0x12, 1, 'y', 0x1a, 2, 'mm', 0x22, 6, 'MatMul');
    const node = decodeMessage<NodeProto>('NodeProto', input);
    expect(node.input).toEqual(['x', 'w']);
    expect(node.output).toEqual(['y']);
    expect(node.name).toBe('mm');
    expect(node.opType).toBe('MatMul');
    expect(node.domain).toBeUndefined();
    expect(node.attribute).toEqual([]);
  });

  it('keeps int64 exact at the extremes, including INT64_MAX and INT64_MIN', () => {
    const cases = [0n, 1n, -1n, 2n ** 53n + 1n, 2n ** 63n - 1n, -(2n ** 63n)];
    for (const value of cases) {
      const input = bytes(0x18, varint(value)); // AttributeProto.i
      const attr = decodeMessage<AttributeProto>('AttributeProto', input);
      expect(attr.i).toBe(value);
      expect(encodeMessage('AttributeProto', attr)).toEqual(input);
    }
  });

  it('keeps raw_data as a zero-copy view at an unaligned offset', () => {
    const input = bytes(0x08, 2, 0x10, 1, 0x4a, 8, [0, 0, 128, 63, 0, 0, 0, 64]); // dims [2], FLOAT, raw_data
    const tensor = decodeMessage<TensorProto>('TensorProto', input);
    expect(tensor.rawData!.buffer).toBe(input.buffer);
    expect(tensor.rawData!.byteOffset).toBe(6);
    expect(tensor.dims).toEqual([2n]);
  });

  it('accepts packed and unpacked encodings of the same repeated field', () => {
    const unpacked = bytes(0x40, 1, 0x40, 2, 0x40, 3); // AttributeProto.ints unpacked (canonical)
    const packed = bytes(0x42, 3, 1, 2, 3); // the same, packed
    expect(decodeMessage<AttributeProto>('AttributeProto', unpacked).ints).toEqual([1n, 2n, 3n]);
    expect(decodeMessage<AttributeProto>('AttributeProto', packed).ints).toEqual([1n, 2n, 3n]);
  });

  it.each([
    ['a length prefix past the end', bytes(0x0a, 50, 'x'), /length prefix claims 50 bytes but only 1 remain/],
    ['a truncated varint', bytes(0x08, 0x80), /truncated varint/],
    ['field number 0', bytes(0x00, 1), /invalid field number 0/],
    ['wire type 7', bytes(0x0f), /invalid wire type 7/],
    ['a varint longer than 10 bytes', bytes(0x08, Array(11).fill(0x80), 1), /varint longer than 10 bytes/],
    ['a truncated fixed32', bytes(0x15, 1, 2), /truncated fixed32/],
  ])('rejects %s with ModelFormatError', (_label, input, message) => {
    expect(() => decodeMessage('TensorProto', input)).toThrow(ModelFormatError);
    expect(() => decodeMessage('TensorProto', input)).toThrow(message);
  });

  it('limits nesting depth without exhausting the stack', () => {
    // TypeProto.sequence_type.elem_type.sequence_type... 5,000 levels deep.
    let inner = new Uint8Array(0);
    for (let i = 0; i < 5000; i++) {
      const elem = bytes(0x0a, varint(BigInt(inner.length)), inner); // Sequence.elem_type = TypeProto
      inner = bytes(0x22, varint(BigInt(elem.length)), elem); // TypeProto.sequence_type
    }
    expect(() => decodeMessage('TypeProto', inner)).toThrow(/nested deeper than 100 levels/);
    expect(() => decodeMessage('TypeProto', inner, { maxDepth: 20 })).toThrow(/nested deeper than 20 levels/);
  });
});

describe('codec: exact round trip of non-canonical files', () => {
  it.each([
    ['canonical order', bytes(0x08, 7, 0x12, 4, 'test', 0x42, 2, 0x10, 13)],
    ['fields out of number order (opset_import before producer_name)', bytes(0x08, 7, 0x42, 2, 0x10, 13, 0x12, 4, 'test')],
    ['an unknown varint field', bytes(0x08, 7, 0xf8, 0x06, 42)],
    ['an unknown length-delimited field between known ones', bytes(0x08, 7, 0xfa, 0x06, 3, 'abc', 0x12, 1, 'p')],
    ['an unknown fixed64 and fixed32', bytes(0xf9, 0x06, [1, 2, 3, 4, 5, 6, 7, 8], 0xfd, 0x06, [1, 2, 3, 4], 0x08, 7)],
    ['an unknown group', bytes(0xfb, 0x06, 0x08, 1, 0xfc, 0x06, 0x08, 7)],
    ['a known field number with a foreign wire type', bytes(0x0a, 1, 'x', 0x08, 7)],
    ['a non-canonical varint (ir_version 7 in 3 bytes)', bytes(0x08, 0x87, 0x80, 0x00)],
    ['a duplicated singular field', bytes(0x08, 3, 0x12, 1, 'a', 0x08, 7)],
    ['invalid UTF-8 in a string', bytes(0x08, 7, 0x12, 2, 0xc3, 0x28)],
    ['a padded length prefix (2 bytes for 1)', bytes(0x08, 7, 0x12, 0x81, 0x00, 'p')],
    ['a padded tag', bytes(0x88, 0x00, 7, 0x12, 1, 'p')],
    ['a padded graph length around a canonical graph', bytes(0x08, 7, 0x3a, 0x83, 0x80, 0x00, 0x12, 1, 'g')],
  ])('ModelProto with %s', (_label, input) => {
    expect(roundTrip('ModelProto', input)).toEqual(input);
  });

  it.each([
    ['float_data unpacked although the schema packs it', bytes(0x25, [0, 0, 128, 63], 0x25, [0, 0, 0, 64])],
    ['float_data in two packed blocks', bytes(0x22, 4, [0, 0, 128, 63], 0x22, 4, [0, 0, 0, 64])],
    ['an empty packed block', bytes(0x22, 0, 0x08, 1)],
    ['dims packed although the schema does not pack them', bytes(0x0a, 2, 2, 3, 0x10, 1)],
    ['a NaN with a payload in float_data', bytes(0x22, 8, [1, 0, 192, 127, 0, 0, 128, 63])],
    ['a signalling NaN in double_data', bytes(0x52, 8, [1, 0, 0, 0, 0, 0, 0xf0, 0x7f])],
    ['a negative int32 in 5 bytes', bytes(0x2a, 5, [0xff, 0xff, 0xff, 0xff, 0x0f])],
  ])('TensorProto with %s', (_label, input) => {
    expect(roundTrip('TensorProto', input)).toEqual(input);
  });

  it('keeps the last value of a duplicated singular field, as protobuf does', () => {
    const model = decodeMessage<ModelProto>('ModelProto', bytes(0x08, 3, 0x08, 7));
    expect(model.irVersion).toBe(7n);
  });

  it('re-encodes a modified message canonically and keeps unknown fields of unmodified ones', () => {
    const unknownInGraph = bytes(0x0a, 0, 0xfa, 0x06, 2, 'zz'); // GraphProto: empty node, unknown field 111
    const input = bytes(0x42, 2, 0x10, 13, 0x08, 7, 0x3a, unknownInGraph.length, unknownInGraph);
    const model = decodeMessage<ModelProto>('ModelProto', input);
    const modified = { ...model, producerName: 'mlctl' };
    const output = encodeMessage('ModelProto', modified);
    // The model itself is now canonical (ir_version, producer_name, graph, opset_import)...
    expect(Array.from(output.subarray(0, 9))).toEqual([0x08, 7, 0x12, 5, ...new TextEncoder().encode('mlctl')]);
    // ...and the untouched graph still carries its unknown field byte for byte.
    expect(Buffer.from(output).includes(Buffer.from(unknownInGraph))).toBe(true);
    const again = decodeMessage<ModelProto>('ModelProto', output);
    expect(again.producerName).toBe('mlctl');
    expect(again.opsetImport[0]!.version).toBe(13n);
  });

  it('keeps a padded length width when the value still fits, and stays valid when it does not', () => {
    const input = bytes(0x08, 7, 0x12, 0x81, 0x00, 'p');
    const model = decodeMessage<ModelProto>('ModelProto', input);
    // The layout belongs to the decoded object: a copy ({...model}) is written canonically.
    expect(encodeMessage('ModelProto', { ...model, producerName: 'q' })).toEqual(bytes(0x08, 7, 0x12, 1, 'q'));
    model.producerName = 'q';
    expect(encodeMessage('ModelProto', model)).toEqual(bytes(0x08, 7, 0x12, 0x81, 0x00, 'q'));
    const long = 'x'.repeat(200);
    model.producerName = long;
    const output = encodeMessage('ModelProto', model);
    expect(decodeMessage<ModelProto>('ModelProto', output).producerName).toBe(long);
  });

  it('does not reuse verbatim bytes once the value changed', () => {
    const input = bytes(0x08, 0x87, 0x80, 0x00); // ir_version 7, non-canonical
    const model = decodeMessage<ModelProto>('ModelProto', input);
    expect(encodeMessage('ModelProto', { ...model, irVersion: 8n })).toEqual(bytes(0x08, 8));
    const same = { ...model };
    expect(encodeMessage('ModelProto', same)).toEqual(bytes(0x08, 7));
  });

  it('falls back to canonical order when a repeated field changed length', () => {
    const input = bytes(0x42, 2, 0x10, 13, 0x08, 7);
    const model = decodeMessage<ModelProto>('ModelProto', input);
    expect(roundTrip('ModelProto', input)).toEqual(input);
    model.opsetImport.push({ domain: 'ai.onnx.ml', version: 3n });
    const output = decodeMessage<ModelProto>('ModelProto', encodeMessage('ModelProto', model));
    expect(output.opsetImport.map((o) => o.domain ?? '')).toEqual(['', 'ai.onnx.ml']);
    expect(output.irVersion).toBe(7n);
  });
});

describe('codec: encoding', () => {
  it('passes large byte fields through as their own chunk without copying', () => {
    const rawData = new Uint8Array(1 << 20).fill(7);
    const tensor = { dims: [262144n], dataType: 1, rawData, floatData: [], int32Data: [], stringData: [], int64Data: [], externalData: [], doubleData: [], uint64Data: [], metadataProps: [] };
    const { chunks, byteLength } = encodeMessageChunks('TensorProto', tensor);
    expect(chunks).toContain(rawData);
    expect(byteLength).toBe(chunks.reduce((n, c) => n + c.length, 0));
  });

  it('writes negative int32 as 10-byte varints and omits absent optional fields', () => {
    const tensor = decodeMessage<TensorProto>('TensorProto', new Uint8Array(0));
    const out = encodeMessage('TensorProto', { ...tensor, int32Data: [-1] });
    expect(Array.from(out)).toEqual([0x2a, 10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
  });

  it('refuses a message over 2 GiB with a hint to use external data', () => {
    const chunk = new Uint8Array(1 << 30);
    const tensor = (raw: Uint8Array): TensorProto => ({ dims: [], rawData: raw, floatData: [], int32Data: [], stringData: [], int64Data: [], externalData: [], doubleData: [], uint64Data: [], metadataProps: [] });
    const graph = { node: [], initializer: [tensor(chunk), tensor(chunk)], sparseInitializer: [], input: [], output: [], valueInfo: [], quantizationAnnotation: [], metadataProps: [] };
    expect(() => encodeMessageChunks('GraphProto', graph)).toThrow(/over protobuf's 2 GiB limit/);
    try {
      encodeMessageChunks('GraphProto', graph);
    } catch (error) {
      expect((error as { code: string }).code).toBe('MLCTL_TOO_LARGE');
      expect((error as { hint: string }).hint).toMatch(/external data/);
    }
  });
});

describe('codec: input buffers', () => {
  it('returns plain Uint8Array views for byte fields even when given a Node Buffer', () => {
    const input = Buffer.from(bytes(0x08, 1, 0x10, 2, 0x4a, 1, [9]));
    const tensor = decodeMessage<TensorProto>('TensorProto', input);
    expect(Object.getPrototypeOf(tensor.rawData)).toBe(Uint8Array.prototype);
    expect(tensor.rawData!.buffer).toBe(input.buffer);
  });
});
