import { readFileSync } from 'node:fs';
import { quantizeWeights } from './src/passes/quantize/kernel.js';
let bad = 0, total = 0;
for (const seed of [1,2,3,4,5,6,7,8]) {
  const cases = JSON.parse(readFileSync(`/tmp/qcheck/cases${seed}.json`, 'utf8'));
  for (const c of cases) {
    total++;
    const r = quantizeWeights(new Float32Array(c.data), c.shape, { type: c.type, symmetric: c.sym, reduceRange: c.red, axis: c.axis ?? undefined });
    const q = c.type === 'int8' ? Array.from(new Int8Array(r.bytes.buffer, r.bytes.byteOffset, r.bytes.length)) : Array.from(r.bytes);
    const ok = JSON.stringify(q) === JSON.stringify(c.q) && JSON.stringify(Array.from(r.scales)) === JSON.stringify(c.scales) && JSON.stringify(Array.from(r.zeroPoints)) === JSON.stringify(c.zps);
    if (!ok) { bad++; if (bad < 4) console.log('MISMATCH', c.type, c.sym, c.red, c.axis, Array.from(r.scales), c.scales, Array.from(r.zeroPoints), c.zps, q.join(','), c.q.join(',')); }
  }
}
console.log(`${total - bad}/${total} match`);
