import { computeScaleZeroPoint, quantRange, quantizeValue, typeRange } from './src/passes/quantize/numerics.js';
const show = (label: string, data: number[], t: 'int8'|'uint8', sym: boolean, red = false) => {
  const f = data.map(Math.fround); const p = computeScaleZeroPoint(Math.min(...f), Math.max(...f), quantRange(t, sym, red), sym);
  console.log(label, p.scale, p.zeroPoint, f.map(x => quantizeValue(x, p.scale, p.zeroPoint, typeRange(t))).join(','), 'x/s:', f.map(x => Math.fround(x / p.scale)).join(','));
};
show('A', [-1, 0.5, 2.54], 'int8', true);
show('B', [127, 0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 3.5], 'int8', true);
show('C', [-1, 3], 'uint8', false);
show('D', [0.5, 1.0], 'uint8', false);
show('E', [0, 0], 'int8', true);
show('F', [1e-40, -1e-41], 'int8', true);
show('G', [64, -64, 10.5, 11.5], 'int8', true, true);
show('H', [-2, 1], 'uint8', true);
show('I', [-2, 1], 'uint8', true, true);
show('J', [-1, 3], 'int8', false);
show('K', [-0.5, 0.5], 'uint8', false);
show('L', [-127, 63.5, 64.5], 'uint8', true);
show('M', [-1, 1], 'uint8', false, true);
