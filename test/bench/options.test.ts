/**
 * Command-line options to settings: units, lists, defaults, and the usage
 * errors (exit 2) for bad values and combinations.
 */
import { describe, expect, it } from 'vitest';
import { outputTargets, settingsFromOptions, type BenchCliOptions } from '../../src/bench/options.js';
import { parseShapeSpec as parseShape } from '../../src/common/shape-spec.js';
import { formatDuration, formatRate, parseDurationMs, parseIntegerList, parsePercent } from '../../src/bench/units.js';
import { UsageError } from '../../src/common/errors.js';

const defaults: BenchCliOptions = {
  ep: 'cpu',
  graphOptimization: 'all',
  executionMode: 'sequential',
  concurrency: '1',
  seed: '0',
  shape: [],
  warmup: 'auto',
  timeBudget: '10m',
  assert: [],
};

function usageMessage(body: () => unknown): string {
  try {
    body();
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return (error as UsageError).message;
  }
  throw new Error('expected a UsageError');
}

describe('units', () => {
  it.each([
    ['10s', 10_000], ['1.5s', 1500], ['500ms', 500], ['250us', 0.25], ['250µs', 0.25], ['2m', 120_000], [' 3 s ', 3000],
  ])('parses the duration %s', (text, ms) => {
    expect(parseDurationMs(text, '--duration')).toBeCloseTo(ms, 12);
  });

  it('rejects durations without a unit, or zero', () => {
    expect(usageMessage(() => parseDurationMs('10', '--duration'))).toBe("--duration '10' is not a duration; expected a number with a unit, e.g. 10s, 500ms, 2m");
    expect(usageMessage(() => parseDurationMs('0s', '--duration'))).toBe("--duration '0s' must be longer than zero");
  });

  it('parses percentages and integer lists', () => {
    expect(parsePercent('10%', '--max-regression')).toBeCloseTo(0.1, 12);
    expect(parsePercent('2.5', '--max-regression')).toBeCloseTo(0.025, 12);
    expect(usageMessage(() => parsePercent('ten', '--max-regression'))).toBe("--max-regression 'ten' is not a percentage; expected e.g. 10%");
    expect(parseIntegerList('1,8,32,8', '--batch')).toEqual([1, 8, 32]);
    expect(usageMessage(() => parseIntegerList('1,0', '--batch'))).toBe("--batch '0' is not a positive integer");
  });

  it('formats durations and rates with three significant digits', () => {
    expect([0.00085, 0.0123, 4.567, 1200, 12].map(formatDuration)).toEqual(['850 ns', '12.3 µs', '4.57 ms', '1.20 s', '12.0 ms']);
    expect([87.64, 12_345.6].map(formatRate)).toEqual(['87.6/s', '12,346/s']);
  });
});

describe('settingsFromOptions', () => {
  it('applies the defaults: cpu, auto warm-up, 3 s steady state, 10 min budget', () => {
    const settings = settingsFromOptions(['m.onnx'], defaults);
    expect(settings).toMatchObject({
      models: ['m.onnx'],
      vs: null,
      executionProviders: ['cpu'],
      batches: null,
      intraOpThreads: null,
      warmup: 'auto',
      iterations: null,
      durationMs: 3000,
      timeBudgetMs: 600_000,
      minIterations: 10,
      inputs: { source: 'random', seed: 0, shapes: {} },
      bootstrap: { resamples: 2000, confidence: 0.95, seed: 0 },
      maxRegression: null,
      strict: false,
    });
  });

  it('reads sweeps, shapes, gates and session settings', () => {
    const settings = settingsFromOptions(['a.onnx', 'b.onnx'], {
      ...defaults,
      ep: 'cpu, CUDA',
      batch: '1,8',
      threads: '1,2',
      interOpThreads: '2',
      executionMode: 'parallel',
      seed: '42',
      shape: ['x=1x3x224x224', 'mask='],
      warmup: '5',
      iterations: '100',
      assert: ['p95<20ms'],
      vs: 'base.onnx',
      maxRegression: '10%',
      strict: true,
    });
    expect(settings).toMatchObject({
      executionProviders: ['cpu', 'cuda'],
      batches: [1, 8],
      intraOpThreads: [1, 2],
      interOpThreads: 2,
      executionMode: 'parallel',
      inputs: { source: 'random', seed: 42, shapes: { x: [1, 3, 224, 224], mask: [] } },
      warmup: 5,
      iterations: 100,
      durationMs: null,
      vs: 'base.onnx',
      strict: true,
      bootstrap: { seed: 42 },
    });
    expect(settings.maxRegression).toBeCloseTo(0.1, 12);
  });

  it('gives --vs sessions one intra-op thread unless --threads says otherwise', () => {
    expect(settingsFromOptions(['m.onnx'], { ...defaults, vs: 'b.onnx' }).intraOpThreads).toEqual([1]);
    expect(settingsFromOptions(['m.onnx'], { ...defaults, vs: 'b.onnx', threads: '2' }).intraOpThreads).toEqual([2]);
  });

  it.each([
    [{ ep: 'cdua' }, "--ep 'cdua' is not an execution provider mlctl knows; expected cpu, cuda, tensorrt, webgpu, dml, coreml"],
    [{ iterations: '10', duration: '1s' }, '--iterations and --duration both say when to stop; give one of them'],
    [{ inputs: 'dir', batch: '2' }, '--inputs gives the tensors themselves; --batch and --shape apply to random inputs only'],
    [{ vs: 'b.onnx', concurrency: '4' }, '--vs runs the two models interleaved, one call at a time; it cannot be combined with --concurrency'],
    [{ maxRegression: '10%' }, '--max-regression needs something to compare with: --vs <baseline.onnx> or --baseline <report.json>'],
    [{ assert: ['p95<20'] }, "--assert 'p95<20' needs a time unit after 20 (ns, us, ms or s)"],
    [{ warmup: 'some' }, "--warmup 'some' is neither 'auto' nor a number of runs"],
    [{ seed: '-1' }, "--seed '-1' is not an integer from 0 to 4294967295"],
    [{ shape: ['1x3'] }, "--shape '1x3' is not name=dims; expected e.g. --shape input=1,3,224,224"],
    [{ concurrency: '0' }, "--concurrency '0' is not a positive integer"],
  ])('rejects %j', (overrides, message) => {
    expect(usageMessage(() => settingsFromOptions(['m.onnx'], { ...defaults, ...overrides }))).toBe(message);
  });

  it('parses shapes with x or commas', () => {
    expect(parseShape('input_ids=1,128')).toEqual(['input_ids', [1, 128]]);
    expect(parseShape('a=b=2x3')).toEqual(['a=b', [2, 3]]);
  });
});

describe('outputTargets', () => {
  it('sends --json without a path, or with -, to stdout', () => {
    expect(outputTargets({ ...defaults, json: true })).toEqual({ json: 'stdout' });
    expect(outputTargets({ ...defaults, json: '-', html: 'r.html' })).toEqual({ json: 'stdout', html: 'r.html' });
    expect(outputTargets({ ...defaults, json: 'r.json', markdown: 'r.md', junit: 'r.xml' })).toEqual({ json: 'r.json', markdown: 'r.md', junit: 'r.xml' });
  });

  it('refuses one file for two reports', () => {
    expect(usageMessage(() => outputTargets({ ...defaults, json: 'r.txt', markdown: 'r.txt' }))).toBe("'r.txt' is given for two reports; give each report its own file");
  });
});
