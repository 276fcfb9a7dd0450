import { describe, expect, it } from 'vitest';
import { MlctlError } from '../../src/common/errors.js';
import {
  firstReleaseWithOpset,
  isDefaultDomain,
  latestIrVersion,
  latestOpset,
  minIrVersionForDomainOpset,
  minIrVersionForOpset,
  normalizeDomain,
  onnxReleases,
  ortMaxIrVersion,
  ortMaxOpset,
  ortMaxOpsetByDomain,
  ortMinOpset,
} from '../../src/onnx/opset.js';

describe('onnxReleases', () => {
  it('spans ONNX 1.0 (IR 3, opset 1) to 1.22.0 (IR 13, opset 27)', () => {
    expect(onnxReleases[0]).toEqual({ onnxVersion: '1.0', irVersion: 3, opset: 1, mlOpset: 1, trainingOpset: undefined });
    expect(onnxReleases.at(-1)).toEqual({ onnxVersion: '1.22.0', irVersion: 13, opset: 27, mlOpset: 5, trainingOpset: 1 });
    expect(onnxReleases).toHaveLength(33);
    expect(new Set(onnxReleases.map((release) => release.onnxVersion)).size).toBe(onnxReleases.length);
  });

  it('never goes backwards in any version', () => {
    onnxReleases.slice(1).forEach((release, index) => {
      const previous = onnxReleases[index]!;
      expect(release.irVersion).toBeGreaterThanOrEqual(previous.irVersion);
      expect(release.opset).toBeGreaterThanOrEqual(previous.opset);
      expect(release.mlOpset).toBeGreaterThanOrEqual(previous.mlOpset);
    });
  });

  const rows: Array<[string, number, number, number, number | undefined]> = [
    ['1.4.1', 4, 9, 1, undefined],
    ['1.6.0', 6, 11, 2, undefined],
    ['1.7.0', 7, 12, 2, 1],
    ['1.8.0', 7, 13, 2, 1],
    ['1.10.0', 8, 15, 2, 1],
    ['1.14.0', 9, 19, 3, 1],
    ['1.15.0', 9, 20, 4, 1],
    ['1.16.0', 10, 21, 5, 1],
    ['1.18.0', 11, 23, 5, 1],
    ['1.19.0', 12, 24, 5, 1],
    ['1.20.0', 13, 25, 5, 1],
    ['1.21.0', 13, 26, 5, 1],
  ];
  it.each(rows)('ONNX %s: IR %i, opset %i, ml %i, training %s', (onnxVersion, irVersion, opset, mlOpset, trainingOpset) => {
    expect(onnxReleases.find((release) => release.onnxVersion === onnxVersion)).toEqual({
      onnxVersion,
      irVersion,
      opset,
      mlOpset,
      trainingOpset,
    });
  });

  it('exposes the newest versions', () => {
    expect(latestOpset).toBe(27);
    expect(latestIrVersion).toBe(13);
  });
});

describe('minIrVersionForOpset', () => {
  const cases: Array<[number, number]> = [
    [1, 3], [2, 3], [5, 3], [8, 3], [9, 4], [10, 5], [11, 6], [12, 7], [13, 7], [14, 7],
    [15, 8], [18, 8], [19, 9], [20, 9], [21, 10], [22, 10], [23, 11], [24, 12], [25, 13], [26, 13], [27, 13],
  ];
  it.each(cases)('opset %i needs IR %i', (opset, irVersion) => {
    expect(minIrVersionForOpset(opset)).toBe(irVersion);
  });

  const errors: Array<[number, string, string]> = [
    [28, 'MLCTL_UNSUPPORTED', "Opset 28 of domain 'ai.onnx' is newer than any released ONNX (the newest is ONNX 1.22.0)."],
    [0, 'MLCTL_BAD_INPUT', "Opset 0 of domain 'ai.onnx' is not valid; expected an integer of at least 1."],
    [1.5, 'MLCTL_BAD_INPUT', "Opset 1.5 of domain 'ai.onnx' is not valid; expected an integer of at least 1."],
  ];
  it.each(errors)('opset %s is refused with %s', (opset, code, message) => {
    expect(() => minIrVersionForOpset(opset)).toThrow(MlctlError);
    expect(() => minIrVersionForOpset(opset)).toThrow(expect.objectContaining({ code, message }));
  });

  it('finds the release that first shipped an opset', () => {
    expect(firstReleaseWithOpset(13)?.onnxVersion).toBe('1.8.0');
    expect(firstReleaseWithOpset(3)?.onnxVersion).toBe('1.1');
    expect(firstReleaseWithOpset(latestOpset + 1)).toBeUndefined();
  });
});

describe('minIrVersionForDomainOpset', () => {
  const cases: Array<[string, number, number | undefined]> = [
    ['', 17, 8],
    ['ai.onnx', 17, 8],
    ['ai.onnx.ml', 1, 3],
    ['ai.onnx.ml', 2, 6],
    ['ai.onnx.ml', 3, 8],
    ['ai.onnx.ml', 4, 9],
    ['ai.onnx.ml', 5, 10],
    ['ai.onnx.training', 1, 7],
    ['com.microsoft', 1, undefined],
  ];
  it.each(cases)("domain '%s' opset %i needs IR %s", (domain, opset, irVersion) => {
    expect(minIrVersionForDomainOpset(domain, opset)).toBe(irVersion);
  });

  it('refuses an unreleased ai.onnx.ml opset', () => {
    expect(() => minIrVersionForDomainOpset('ai.onnx.ml', 6)).toThrow(
      "Opset 6 of domain 'ai.onnx.ml' is newer than any released ONNX (the newest is ONNX 1.22.0).",
    );
  });
});

describe('domains', () => {
  const cases: Array<[string | undefined, string, boolean]> = [
    [undefined, '', true],
    ['', '', true],
    ['ai.onnx', '', true],
    ['ai.onnx.ml', 'ai.onnx.ml', false],
    ['com.microsoft', 'com.microsoft', false],
  ];
  it.each(cases)('%s normalizes to %j', (domain, normalized, isDefault) => {
    expect(normalizeDomain(domain)).toBe(normalized);
    expect(isDefaultDomain(domain)).toBe(isDefault);
  });
});

describe('ONNX Runtime range', () => {
  it('is consistent with the release table', () => {
    expect(ortMinOpset).toBeLessThan(ortMaxOpset);
    expect(ortMaxOpset).toBeLessThanOrEqual(latestOpset);
    expect(ortMaxIrVersion).toBeGreaterThanOrEqual(minIrVersionForOpset(ortMaxOpset));
    expect(ortMaxOpsetByDomain['']).toBe(ortMaxOpset);
  });

  it('pins the onnxruntime-node 1.30.0 limits', () => {
    expect({ ortMinOpset, ortMaxOpset, ortMaxIrVersion, ...ortMaxOpsetByDomain }).toEqual({
      ortMinOpset: 7,
      ortMaxOpset: 26,
      ortMaxIrVersion: 13,
      '': 26,
      'ai.onnx.ml': 5,
      'ai.onnx.training': 1,
      'com.microsoft': 1,
    });
  });
});
