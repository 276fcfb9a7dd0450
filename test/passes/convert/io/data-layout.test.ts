/**
 * Where converted weights go (--external-data, --inline-data, neither), and
 * how byte sizes on the command line are read.
 */
import { describe, expect, it } from 'vitest';
import { decideDataLayout, DEFAULT_EXTERNAL_THRESHOLD_BYTES, formatBytes, parseByteSize } from '../../../../src/passes/convert/io/index.js';

const small = { inputHadExternalData: false, inlineSizeBytes: 10_000 };
const huge = { inputHadExternalData: false, inlineSizeBytes: 3 * 1024 ** 3 };

describe('decideDataLayout', () => {
  it.each([
    ['keep, inline input', { mode: 'keep' } as const, small, { mode: 'inline', reason: 'the input kept its weights inline' }],
    ['keep, external input', { mode: 'keep' } as const, { ...small, inputHadExternalData: true },
      { mode: 'external', location: 'out.onnx.data', thresholdBytes: 1024, reason: 'the input kept its weights in external data (pass --inline-data to bring them in)' }],
    ['keep, over 2 GiB', { mode: 'keep' } as const, huge,
      { mode: 'external', location: 'out.onnx.data', thresholdBytes: 1024, reason: "the model is 3.0 GiB, above protobuf's 2 GiB limit for one file" }],
    ['external, default threshold', { mode: 'external' } as const, small, { mode: 'external', location: 'out.onnx.data', thresholdBytes: DEFAULT_EXTERNAL_THRESHOLD_BYTES, reason: '--external-data' }],
    ['external, 4 MiB threshold', { mode: 'external', thresholdBytes: 4 * 1024 ** 2 } as const, small, { mode: 'external', location: 'out.onnx.data', thresholdBytes: 4194304, reason: '--external-data' }],
    ['inline', { mode: 'inline' } as const, { ...small, inputHadExternalData: true }, { mode: 'inline', reason: '--inline-data' }],
  ])('%s', (_name, request, facts, expected) => {
    expect(decideDataLayout(request, facts, '/models/out.onnx')).toEqual(expected);
  });

  it('refuses --inline-data beyond 2 GiB, saying what to do instead', () => {
    expect(() => decideDataLayout({ mode: 'inline' }, huge, 'big.onnx')).toThrow("--inline-data would make 'big.onnx' 3.0 GiB, above protobuf's 2 GiB limit for one .onnx file");
    try {
      decideDataLayout({ mode: 'inline' }, huge, 'big.onnx');
    } catch (error) {
      expect(error).toMatchObject({ code: 'MLCTL_TOO_LARGE', hint: 'keep the weights in an external data file: use --external-data instead' });
    }
  });
});

describe('parseByteSize', () => {
  it.each([
    ['0', 0], ['1024', 1024], ['1KB', 1024], ['1kb', 1024], ['1 KiB', 1024], ['4MiB', 4194304], ['1.5K', 1536], ['2GB', 2147483648], ['12B', 12],
  ])('%s → %d', (text, bytes) => {
    expect(parseByteSize(text, '--threshold')).toBe(bytes);
  });

  it.each(['', 'KB', '-1', '1 XB', '1e3', '0x10'])('refuses %j', (text) => {
    expect(() => parseByteSize(text, '--threshold')).toThrow(`--threshold '${text}' is not a size; expected a number of bytes with an optional unit, e.g. 1024, 1KB or 4MiB`);
  });

  it('formats sizes for reports', () => {
    expect([formatBytes(512), formatBytes(1536), formatBytes(3 * 1024 ** 3)]).toEqual(['512 B', '1.5 KiB', '3.0 GiB']);
  });
});
