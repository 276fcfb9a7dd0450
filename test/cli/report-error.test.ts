import { describe, expect, it } from 'vitest';
import { FileError, MlctlError, ModelFormatError, UsageError } from '../../src/common/errors.js';
import { formatError, reportError } from '../../src/cli/report-error.js';

describe('formatError', () => {
  it.each([
    { error: new ModelFormatError("'m.onnx' is empty, not an ONNX model"), exitCode: 3 },
    { error: new FileError("cannot read 'm.onnx': no such file"), exitCode: 3 },
    { error: new UsageError("'--bits' must be 4 or 8, got '5'"), exitCode: 2 },
    { error: new MlctlError('MLCTL_EP_UNAVAILABLE', "execution provider 'cuda' is not available"), exitCode: 4 },
    { error: new MlctlError('MLCTL_CHECK_FAILED', 'outputs differ'), exitCode: 1 },
  ])('maps $error.name ($error.code) to exit code $exitCode with one line', { timeout: 5_000 }, ({ error, exitCode }) => {
    expect(formatError(error, { debug: false })).toEqual({ exitCode, lines: [`mlctl: error: ${error.message}`] });
  });

  it('adds the hint as a second line and keeps multi-line messages on one line', { timeout: 5_000 }, () => {
    const error = new ModelFormatError("'big.onnx' is too large\nfor protobuf", { hint: 'use external data' });
    expect(formatError(error, { debug: false }).lines).toEqual([
      "mlctl: error: 'big.onnx' is too large for protobuf",
      'mlctl: hint: use external data',
    ]);
  });

  it('reports unexpected errors as internal errors with exit code 4', { timeout: 5_000 }, () => {
    const report = formatError(new TypeError("Cannot read properties of undefined (reading 'x')"), { debug: false });
    expect(report.exitCode).toBe(4);
    expect(report.lines).toEqual([
      "mlctl: error: internal error: Cannot read properties of undefined (reading 'x')",
      'mlctl: hint: this is a bug in mlctl; rerun with --debug and report the stack trace',
    ]);
    expect(formatError('a string', { debug: false }).lines[0]).toBe('mlctl: error: internal error: a string');
  });

  it('prints stack traces, causes included, only with debug', { timeout: 5_000 }, () => {
    const cause = new RangeError('offset out of range');
    const error = new ModelFormatError("'m.onnx' is not a valid ONNX model: truncated", { cause });
    expect(formatError(error, { debug: false }).lines.join('\n')).not.toMatch(/^\s+at /m);
    const lines = formatError(error, { debug: true }).lines;
    expect(lines[0]).toBe("mlctl: error: 'm.onnx' is not a valid ONNX model: truncated");
    expect(lines.some((line) => /^\s+at /.test(line))).toBe(true);
    expect(lines).toContain('Caused by: RangeError: offset out of range');
  });

  it('writes the lines to the sink and returns the exit code', { timeout: 5_000 }, () => {
    let written = '';
    const exitCode = reportError(new FileError("cannot read 'x': no such file"), {
      debug: false,
      stderr: { write: (text: string) => (written += text) },
    });
    expect(exitCode).toBe(3);
    expect(written).toBe("mlctl: error: cannot read 'x': no such file\n");
  });
});
