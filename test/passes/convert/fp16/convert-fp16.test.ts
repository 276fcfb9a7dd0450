/**
 * The float16 pass on small models built by hand: what becomes float16,
 * where Casts go, what stays float32 and why, the clean-up of redundant
 * Casts, subgraphs, and every result run in onnxruntime against float32.
 */
import { describe, expect, it } from 'vitest';
import { makeGraph, makeNode, makeTensorValueInfo } from '../../../../src/onnx/builder.js';
import { loadModel } from '../../../../src/onnx/model-io.js';
import { createTensor, tensorData } from '../../../../src/onnx/tensor.js';
import { DataLocation, DataType, type ModelProto, type NodeProto } from '../../../../src/onnx/types.js';
import { convertToFloat16, FLOAT16_MAX, FLOAT16_MIN_POSITIVE, tensorToFloat16 } from '../../../../src/passes/convert/fp16/index.js';
import { float16BitsToFloat32 } from '../../../../src/onnx/float-arrays.js';
import { cosine, input, model, opCounts, run, weight } from '../simplify/helpers.js';
import { repoRoot } from '../../../helpers/paths.js';
import path from 'node:path';

const F = DataType.FLOAT;
const H = DataType.FLOAT16;

/** x → MatMul → Add → Relu → Resize(×2) → Sigmoid, float32. */
function withResize(): ModelProto {
  return model({
    nodes: [
      makeNode('MatMul', ['x', 'w'], ['mm']),
      makeNode('Add', ['mm', 'b'], ['a']),
      makeNode('Relu', ['a'], ['r']),
      makeNode('Reshape', ['r', 'shape'], ['r4']),
      makeNode('Resize', ['r4', '', 'scales'], ['up'], { mode: 'nearest' }, { name: 'resize' }),
      makeNode('Sigmoid', ['up'], ['y']),
    ],
    inputs: [makeTensorValueInfo('x', F, [2, 8])],
    outputs: [makeTensorValueInfo('y', F, [1, 2, 4, 4])],
    initializers: [weight('w', [8, 4], 1), weight('b', [4], 2), createTensor('shape', DataType.INT64, [4], [1, 2, 2, 2]), createTensor('scales', F, [4], [1, 1, 2, 2])],
  });
}

const elemTypeOf = (m: ModelProto, name: string): number | undefined =>
  [...m.graph!.input, ...m.graph!.output, ...m.graph!.valueInfo].find((info) => info.name === name)?.type?.tensorType?.elemType;

const initializer = (m: ModelProto, name: string) => m.graph!.initializer.find((t) => t.name === name);

const castsInto = (m: ModelProto, consumer: string): NodeProto[] => {
  const node = m.graph!.node.find((n) => n.name === consumer)!;
  return m.graph!.node.filter((n) => n.opType === 'Cast' && n.output.some((o) => node.input.includes(o)));
};

describe('convertToFloat16', () => {
  it('converts weights and I/O, keeps Resize and its scales in float32 behind Casts, and stays close to float32', async () => {
    const original = withResize();
    const { model: half, report } = convertToFloat16(original);
    expect(initializer(half, 'w')?.dataType).toBe(H);
    expect(initializer(half, 'b')?.dataType).toBe(H);
    expect(initializer(half, 'scales')?.dataType).toBe(F);
    expect(initializer(half, 'shape')?.dataType).toBe(DataType.INT64);
    expect(elemTypeOf(half, 'x')).toBe(H);
    expect(elemTypeOf(half, 'y')).toBe(H);
    expect(castsInto(half, 'resize').map((n) => n.attribute[0]?.i)).toEqual([BigInt(F)]);
    expect(report.blocked).toEqual([{ opType: 'Resize', reason: 'default block list', count: 1 }]);
    expect(report).toMatchObject({ tensorsConverted: 2, tensorsKeptFloat32: 1, castsInserted: 2, castsAfter: 2, ioConverted: ['x', 'y'] });
    const feeds = { x: input([2, 8], 5) };
    const [expected, actual] = [await run(original, feeds), await run(half, feeds)];
    expect(cosine(actual['y']!, expected['y']!)).toBeGreaterThan(0.9999);
  });

  it('keeps float32 inputs and outputs with keepIoTypes, converting at the edges', async () => {
    const original = withResize();
    const { model: half, report } = convertToFloat16(original, { keepIoTypes: true });
    expect(elemTypeOf(half, 'x')).toBe(F);
    expect(elemTypeOf(half, 'y')).toBe(F);
    expect(half.graph!.output.map((o) => o.name)).toEqual(['y']);
    // The output is made by a Cast from the renamed float16 Sigmoid.
    const last = half.graph!.node.find((n) => n.output.includes('y'))!;
    expect(last.opType).toBe('Cast');
    expect(report.ioKeptFloat32).toEqual(['x', 'y']);
    const feeds = { x: input([2, 8], 6) };
    const actual = await run(half, feeds);
    expect(actual['y']!.dtype).toBe('float32');
    expect(cosine(actual['y']!, (await run(original, feeds))['y']!)).toBeGreaterThan(0.9999);
  });

  it('keeps operators and nodes of the block lists in float32, or none with defaultBlockList false', async () => {
    const original = withResize();
    const byOp = convertToFloat16(original, { opBlockList: ['Sigmoid'] });
    expect(byOp.report.blocked.map((b) => `${b.opType}:${b.reason}`).sort()).toEqual(['Resize:default block list', 'Sigmoid:op block list']);
    const byName = convertToFloat16(original, { nodeBlockList: ['resize'], defaultBlockList: false });
    expect(byName.report.blocked).toEqual([{ opType: 'Resize', reason: 'node block list', count: 1 }]);
    const none = convertToFloat16(original, { defaultBlockList: false });
    expect(none.report.blocked).toEqual([]);
    // Resize's scales stay float32 even when Resize itself runs in float16: ONNX fixes their type.
    expect(initializer(none.model, 'scales')?.dataType).toBe(F);
    for (const converted of [byOp.model, byName.model, none.model]) {
      expect((await run(converted, { x: input([2, 8], 7) }))['y']!.dims).toEqual([1, 2, 4, 4]);
    }
  });

  it('names node block list entries that match no node', () => {
    expect(() => convertToFloat16(withResize(), { nodeBlockList: ['resize', 'nope'] })).toThrow("--node-block-list names 'nope', which no node of the model is called");
  });

  it('keeps a node reading values beyond ±65504 in float32, or clamps them when told to', async () => {
    const big = model({
      nodes: [makeNode('Mul', ['x', 'k'], ['m'], {}, { name: 'scale' }), makeNode('Div', ['m', 'k2'], ['y'])],
      inputs: [makeTensorValueInfo('x', F, [4])],
      outputs: [makeTensorValueInfo('y', F, [4])],
      initializers: [createTensor('k', F, [4], [1e6, -1e6, 2, 1e-30]), createTensor('k2', F, [], [1e3])],
    });
    const kept = convertToFloat16(big);
    expect(kept.report.blocked).toEqual([{ opType: 'Mul', reason: 'constant beyond float16 range', count: 1 }]);
    expect(initializer(kept.model, 'k')?.dataType).toBe(F);
    const feeds = { x: { dtype: 'float32' as const, dims: [4], data: Float32Array.from([0.001, 0.002, 1, 1]) } };
    expect(cosine((await run(kept.model, feeds))['y']!, (await run(big, feeds))['y']!)).toBeGreaterThan(0.999);

    const clamped = convertToFloat16(big, { keepOutOfRangeNodes: false });
    expect(clamped.report).toMatchObject({ clampedToMax: 2, clampedToMin: 1, blocked: [] });
    const k = float16BitsToFloat32(tensorData(initializer(clamped.model, 'k')!) as Uint16Array);
    expect(Array.from(k)).toEqual([FLOAT16_MAX, -FLOAT16_MAX, 2, FLOAT16_MIN_POSITIVE]);
  });

  it('removes Casts that became no-ops and merges Cast pairs it made', async () => {
    // int64 → Cast(FLOAT) → TopK (blocked): the retyped Cast and the inserted one merge into one int64 → float32 Cast.
    const casts = model({
      nodes: [
        makeNode('Cast', ['x'], ['xf'], { to: F }),
        makeNode('Relu', ['xf'], ['r']),
        makeNode('Cast', ['ids'], ['idsf'], { to: F }),
        makeNode('TopK', ['idsf', 'k'], ['top', 'idx']),
        makeNode('Add', ['r', 'top'], ['y']),
      ],
      inputs: [makeTensorValueInfo('x', F, [3]), makeTensorValueInfo('ids', DataType.INT64, [3])],
      outputs: [makeTensorValueInfo('y', F, [3])],
      initializers: [createTensor('k', DataType.INT64, [1], [3])],
    });
    const { model: half, report } = convertToFloat16(casts);
    expect(report.castsBefore).toBe(2);
    const remaining = half.graph!.node.filter((n) => n.opType === 'Cast').map((n) => `${n.input[0]}→${Number(n.attribute[0]!.i)}`);
    expect(remaining.sort()).toEqual([`ids→${F}`, `top→${H}`]);
    expect(report.castsRemoved).toBeGreaterThanOrEqual(2);
    const feeds = { x: input([3], 8), ids: { dtype: 'int64' as const, dims: [3], data: BigInt64Array.from([3n, 1n, 2n]) } };
    expect(cosine((await run(half, feeds))['y']!, (await run(casts, feeds))['y']!)).toBeGreaterThan(0.9999);
  });

  it('converts both branches of an If and its outer-scope reads', async () => {
    const branch = (op: string, name: string) => makeGraph({
      name,
      nodes: [makeNode(op, ['x', 'w'], [`${name}_out`])],
      inputs: [],
      outputs: [makeTensorValueInfo(`${name}_out`, F, [4])],
    });
    const ifModel = model({
      nodes: [makeNode('If', ['cond'], ['y'], { then_branch: branch('Add', 'then'), else_branch: branch('Max', 'else') })],
      inputs: [makeTensorValueInfo('cond', DataType.BOOL, []), makeTensorValueInfo('x', F, [4])],
      outputs: [makeTensorValueInfo('y', F, [4])],
      initializers: [weight('w', [4], 9)],
    });
    const { model: half, report } = convertToFloat16(ifModel);
    expect(report.blocked).toEqual([{ opType: 'Max', reason: 'default block list', count: 1 }]);
    expect(opCounts(half)['Cast']).toBe(3);
    for (const flag of [0, 1]) {
      const feeds = { cond: { dtype: 'bool' as const, dims: [], data: Uint8Array.from([flag]) }, x: input([4], 10) };
      expect(cosine((await run(half, feeds))['y']!, (await run(ifModel, feeds))['y']!)).toBeGreaterThan(0.9999);
    }
  });

  it('converts Constant nodes, ConstantOfShape values and Cast targets', async () => {
    const constants = model({
      nodes: [
        makeNode('Constant', [], ['c'], { value: createTensor('', F, [2], [0.5, 2]) }),
        makeNode('ConstantOfShape', ['shape'], ['zeros']),
        makeNode('Add', ['x', 'c'], ['a']),
        makeNode('Add', ['a', 'zeros'], ['y']),
      ],
      inputs: [makeTensorValueInfo('x', F, [2])],
      outputs: [makeTensorValueInfo('y', F, [2])],
      initializers: [createTensor('shape', DataType.INT64, [1], [2])],
    });
    const { model: half } = convertToFloat16(constants);
    const constant = half.graph!.node.find((n) => n.opType === 'Constant')!;
    expect(constant.attribute[0]!.t!.dataType).toBe(H);
    expect(half.graph!.node.find((n) => n.opType === 'ConstantOfShape')!.attribute[0]!.t!.dataType).toBe(H);
    const out = await run(half, { x: { dtype: 'float32', dims: [2], data: Float32Array.from([1, 1]) } });
    expect(Array.from(out['y']!.data as Float32Array)).toEqual([1.5, 3]);
  });

  it('refuses tensors stored as external data, naming them', () => {
    const external = withResize();
    const w = initializer(external, 'w')!;
    const { rawData: _raw, ...rest } = w;
    external.graph!.initializer[0] = { ...rest, dataLocation: DataLocation.EXTERNAL, externalData: [{ key: 'location', value: 'w.bin' }] };
    expect(() => convertToFloat16(external)).toThrow("keeps its data in an external file; read it in before converting to float16");
  });

  it('does not change its input model', async () => {
    const { model: original } = await loadModel(path.join(repoRoot, 'fixtures/models/conv-net.onnx'));
    const before = JSON.stringify(original.graph!.initializer.map((t) => [t.name, t.dataType]));
    convertToFloat16(original);
    expect(JSON.stringify(original.graph!.initializer.map((t) => [t.name, t.dataType]))).toBe(before);
  });
});

describe('tensorToFloat16', () => {
  it.each([
    [1, 1], [65504, 65504], [65520, 65504], [1e9, 65504], [-1e9, -65504], [Infinity, Infinity], [-Infinity, -Infinity],
    [1e-10, FLOAT16_MIN_POSITIVE], [-1e-10, -FLOAT16_MIN_POSITIVE], [0, 0], [1 / 3, 0.333251953125],
  ])('%d → %d', (value, expected) => {
    const { tensor } = tensorToFloat16(createTensor('t', F, [1], [value]));
    expect(tensor.dataType).toBe(H);
    expect(float16BitsToFloat32(tensorData(tensor) as Uint16Array)[0]).toBe(expected);
  });

  it('keeps NaN and the tensor name', () => {
    const { tensor } = tensorToFloat16(createTensor('t', F, [1], [NaN]));
    expect(tensor.name).toBe('t');
    expect(Number.isNaN(float16BitsToFloat32(tensorData(tensor) as Uint16Array)[0])).toBe(true);
  });
});
