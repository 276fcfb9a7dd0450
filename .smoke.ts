import { attrFloat, makeGraph, makeModel, makeNode, makeTensorValueInfo } from './src/onnx/builder.js';
import { createTensor } from './src/onnx/tensor.js';
import { DataType } from './src/onnx/types.js';
import { serializeModel } from './src/onnx/model-io.js';
import { createSession } from './src/runtime/onnxruntime.js';
import { quantizeModel } from './src/passes/quantize/index.js';

function rand(n: number, seed: number) { let s = seed; return Float32Array.from({ length: n }, () => { s = (s * 1103515245 + 12345) % 2147483648; return s / 2147483648 - 0.5; }); }
const K = 64, N = 32, M = 16;
const model = makeModel({ opsets: { '': 13 }, graph: makeGraph({ name: 'mlp',
  nodes: [makeNode('MatMul', ['x', 'w1'], ['h'], {}, { name: 'mm1' }), makeNode('Relu', ['h'], ['hr']), makeNode('Gemm', ['hr', 'w2', 'b2'], ['y'], { transB: 1, alpha: 0.5, beta: attrFloat(2) }, { name: 'gemm' })],
  inputs: [makeTensorValueInfo('x', DataType.FLOAT, ['batch', K])], outputs: [makeTensorValueInfo('y', DataType.FLOAT, ['batch', M])],
  initializers: [createTensor('w1', DataType.FLOAT, [K, N], rand(K * N, 1)), createTensor('w2', DataType.FLOAT, [M, N], rand(M * N, 2)), createTensor('b2', DataType.FLOAT, [M], rand(M, 3))] }) });
const x = { dtype: 'float32' as const, dims: [4, K], data: rand(4 * K, 9) };
async function run(m: any) { const s = await createSession(serializeModel(m)); try { return (await s.run({ x }))['y']!.data as Float32Array; } finally { await s.release(); } }
const ref = await run(model);
for (const mode of ['weight-only', 'dynamic'] as const) for (const wt of ['int8', 'uint8'] as const) for (const pc of [true, false]) {
  const { model: q, report } = quantizeModel(model, { mode, weightType: wt, perChannel: pc, minElements: 0 });
  const out = await run(q);
  let num = 0, da = 0, db = 0; for (let i = 0; i < ref.length; i++) { num += ref[i]! * out[i]!; da += ref[i]! ** 2; db += out[i]! ** 2; }
  console.log(mode, wt, pc, 'cos', (num / Math.sqrt(da * db)).toFixed(6), report.nodes.map(n => `${n.node}:${n.action}`).join(' '), q.graph!.node.map(n => n.opType).join(','));
}
// ConvInteger probe
for (const wt of [DataType.UINT8, DataType.INT8]) for (const perChannel of [false, true]) {
  const wz = perChannel ? createTensor('wz', wt, [2], [0, 0]) : createTensor('wz', wt, [], [0]);
  const m = makeModel({ opsets: { '': 13 }, graph: makeGraph({ name: 'p', nodes: [makeNode('ConvInteger', ['x', 'w', 'xz', 'wz'], ['y'])],
    inputs: [makeTensorValueInfo('x', DataType.UINT8, [1, 1, 3, 3])], outputs: [makeTensorValueInfo('y', DataType.INT32)],
    initializers: [createTensor('w', wt, [2, 1, 2, 2], [1, 2, 3, 4, 1, 1, 1, 1]), createTensor('xz', DataType.UINT8, [], [0]), wz] }) });
  try { const s = await createSession(serializeModel(m)); const r = await s.run({ x: { dtype: 'uint8', dims: [1, 1, 3, 3], data: new Uint8Array(9).fill(1) } }); await s.release(); console.log('ConvInteger', wt, perChannel, 'OK', Array.from(r['y']!.data as Int32Array)); }
  catch (e) { console.log('ConvInteger', wt, perChannel, 'FAIL', (e as Error).message.slice(0, 200)); }
}
