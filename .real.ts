import { loadModel, serializeModel } from './src/onnx/model-io.js';
import { opsetVersion } from './src/onnx/graph.js';
import { quantizeModel } from './src/passes/quantize/index.js';
import { createSession } from './src/runtime/onnxruntime.js';
import { randomInputs } from './src/runtime/random-inputs.js';
const files = process.argv.slice(2);
for (const f of files) {
  const { model, sizeBytes } = await loadModel(f);
  console.log(f.split('/').pop(), 'ir', model.irVersion, 'opset', opsetVersion(model, ''), 'inits', model.graph!.initializer.length, 'size', sizeBytes);
  for (const mode of ['weight-only', 'dynamic'] as const) {
    const t0 = performance.now();
    const { model: q, report } = quantizeModel(model, { mode, convIntegerWeightTypes: ['int8', 'uint8'] });
    const t1 = performance.now();
    const bytes = serializeModel(q);
    console.log(' ', mode, 'q', report.nodesQuantized, 'skip', report.nodesSkipped, 'size', bytes.length, (bytes.length / sizeBytes).toFixed(3), 'ms', (t1 - t0).toFixed(0), report.opsetConversionError ?? '');
    const reasons = new Map<string, number>(); for (const n of report.nodes) if (n.action === 'skipped') reasons.set(n.reason!.replace(/'[^']*'/g, "'…'").replace(/\d+ elements/, 'N elements'), (reasons.get(n.reason!.replace(/'[^']*'/g, "'…'").replace(/\d+ elements/, 'N elements')) ?? 0) + 1);
    console.log('   skipped:', JSON.stringify([...reasons]));
    if (report.nodesQuantized === 0) continue;
    try {
      const a = await createSession(serializeModel(model), { logLevel: 'fatal' }); const b = await createSession(bytes, { logLevel: 'fatal' });
      const feeds = randomInputs(a.inputs, { seed: 1, defaultDim: 1, dimValues: {}, shapeOverrides: {} });
      const ra = await a.run(feeds); const rb = await b.run(feeds);
      for (const k of Object.keys(ra)) { const x = ra[k]!.data as Float32Array, y = rb[k]!.data as Float32Array; let d=0,xx=0,yy=0; for (let i=0;i<x.length;i++){d+=x[i]!*y[i]!;xx+=x[i]!**2;yy+=y[i]!**2;} console.log('   out', k, 'cos', (d/Math.sqrt(xx*yy)).toFixed(5)); }
      await a.release(); await b.release();
    } catch (e) { console.log('   RUN FAIL', (e as Error).message.slice(0, 300)); }
  }
}
