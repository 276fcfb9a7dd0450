/**
 * ONNX release, IR version and operator-set version facts, and the range the
 * bundled ONNX Runtime accepts.
 */
import { MlctlError } from '../common/errors.js';

/** One released ONNX version and the versions it introduced. */
export interface OnnxRelease {
  /** ONNX package version, e.g. `1.16.0`. */
  readonly onnxVersion: string;
  /** File format (IR) version it writes. */
  readonly irVersion: number;
  /** Highest opset of the default domain (`ai.onnx`, spelled `''` in files). */
  readonly opset: number;
  /** Highest opset of `ai.onnx.ml`. */
  readonly mlOpset: number;
  /** Highest opset of `ai.onnx.training`; undefined before the domain existed (ONNX 1.7). */
  readonly trainingOpset: number | undefined;
}

function release(
  onnxVersion: string,
  irVersion: number,
  opset: number,
  mlOpset: number,
  trainingOpset?: number,
): OnnxRelease {
  return { onnxVersion, irVersion, opset, mlOpset, trainingOpset };
}

/**
 * Every released ONNX version, oldest first, as listed under "Released
 * Versions" in onnx/onnx `docs/Versioning.md` (read at commit f754691, which
 * lists releases up to 1.22.0; `VERSION_TABLE` in `onnx/helper.py` agrees).
 */
export const onnxReleases: readonly OnnxRelease[] = [
  release('1.0', 3, 1, 1),
  release('1.1', 3, 5, 1),
  release('1.1.2', 3, 6, 1),
  release('1.2', 3, 7, 1),
  release('1.3', 3, 8, 1),
  release('1.4.1', 4, 9, 1),
  release('1.5.0', 5, 10, 1),
  release('1.6.0', 6, 11, 2),
  release('1.7.0', 7, 12, 2, 1),
  release('1.8.0', 7, 13, 2, 1),
  release('1.8.1', 7, 13, 2, 1),
  release('1.9.0', 7, 14, 2, 1),
  release('1.10.0', 8, 15, 2, 1),
  release('1.10.1', 8, 15, 2, 1),
  release('1.10.2', 8, 15, 2, 1),
  release('1.11.0', 8, 16, 3, 1),
  release('1.12.0', 8, 17, 3, 1),
  release('1.13.0', 8, 18, 3, 1),
  release('1.13.1', 8, 18, 3, 1),
  release('1.14.0', 9, 19, 3, 1),
  release('1.14.1', 9, 19, 3, 1),
  release('1.15.0', 9, 20, 4, 1),
  release('1.16.0', 10, 21, 5, 1),
  release('1.16.1', 10, 21, 5, 1),
  release('1.16.2', 10, 21, 5, 1),
  release('1.17.0', 10, 22, 5, 1),
  release('1.18.0', 11, 23, 5, 1),
  release('1.19.0', 12, 24, 5, 1),
  release('1.19.1', 12, 24, 5, 1),
  release('1.20.0', 13, 25, 5, 1),
  release('1.20.1', 13, 25, 5, 1),
  release('1.21.0', 13, 26, 5, 1),
  release('1.22.0', 13, 27, 5, 1),
];

const newestRelease = onnxReleases[onnxReleases.length - 1] as OnnxRelease;

/** Highest released default-domain opset (ONNX 1.22.0). */
export const latestOpset: number = newestRelease.opset;

/** Highest released IR version. */
export const latestIrVersion: number = newestRelease.irVersion;

/**
 * Highest default-domain opset that onnxruntime-node 1.30.0 officially
 * supports. Found by loading a one-node model at each opset: opset 27 is
 * refused with "Current official support for domain ai.onnx is till opset 26".
 */
export const ortMaxOpset = 26;

/**
 * Lowest default-domain opset ONNX Runtime guarantees (it loads older ones
 * with the warning "only *guarantees* support for models stamped with opset
 * version 7 or above").
 */
export const ortMinOpset = 7;

/**
 * Highest IR version onnxruntime-node 1.30.0 loads (IR 14 is refused with
 * "Unsupported model IR version: 14, max supported IR version: 13").
 */
export const ortMaxIrVersion = 13;

/**
 * Highest opset per domain that onnxruntime-node 1.30.0 officially supports,
 * found the same way as {@link ortMaxOpset}. Keys are normalized domains
 * (`''` for the default domain).
 */
export const ortMaxOpsetByDomain: Readonly<Record<string, number>> = {
  '': ortMaxOpset,
  'ai.onnx.ml': 5,
  'ai.onnx.training': 1,
  'com.microsoft': 1,
};

/** The default ONNX domain's alternative spelling. */
const defaultDomainAlias = 'ai.onnx';

/**
 * Maps a domain to its canonical spelling: `undefined`, `''` and `'ai.onnx'`
 * all mean the default domain and become `''`; other domains are unchanged.
 */
export function normalizeDomain(domain: string | undefined): string {
  return domain === undefined || domain === defaultDomainAlias ? '' : domain;
}

/** Whether `domain` names the default ONNX domain (`''`, `'ai.onnx'` or absent). */
export function isDefaultDomain(domain: string | undefined): boolean {
  return normalizeDomain(domain) === '';
}

type VersionField = 'opset' | 'mlOpset' | 'trainingOpset';

const fieldByDomain: Readonly<Record<string, VersionField>> = {
  '': 'opset',
  'ai.onnx.ml': 'mlOpset',
  'ai.onnx.training': 'trainingOpset',
};

/** How a normalized domain is named in messages. */
function displayDomain(domain: string): string {
  return domain === '' ? defaultDomainAlias : domain;
}

function checkOpsetNumber(domain: string, opset: number): void {
  if (!Number.isSafeInteger(opset) || opset < 1) {
    throw new MlctlError(
      'MLCTL_BAD_INPUT',
      `Opset ${String(opset)} of domain '${displayDomain(domain)}' is not valid; expected an integer of at least 1.`,
    );
  }
}

/**
 * The lowest IR version a model must declare to import `opset` of `domain`,
 * i.e. the IR version of the first ONNX release that shipped that opset.
 *
 * @returns undefined for domains ONNX does not version (e.g. `com.microsoft`).
 * @throws MlctlError `MLCTL_BAD_INPUT` when `opset` is not a positive integer.
 * @throws MlctlError `MLCTL_UNSUPPORTED` when no released ONNX has that opset.
 */
export function minIrVersionForDomainOpset(domain: string, opset: number): number | undefined {
  const canonical = normalizeDomain(domain);
  const field = fieldByDomain[canonical];
  if (field === undefined) return undefined;
  checkOpsetNumber(canonical, opset);
  for (const entry of onnxReleases) {
    const shipped = entry[field];
    if (shipped !== undefined && shipped >= opset) return entry.irVersion;
  }
  throw new MlctlError(
    'MLCTL_UNSUPPORTED',
    `Opset ${opset} of domain '${displayDomain(canonical)}' is newer than any released ONNX (the newest is ONNX ${newestRelease.onnxVersion}).`,
  );
}

/**
 * The lowest IR version a model must declare to import default-domain opset
 * `opset` (e.g. 13 → 7, 21 → 10).
 *
 * @throws MlctlError `MLCTL_BAD_INPUT` when `opset` is not a positive integer.
 * @throws MlctlError `MLCTL_UNSUPPORTED` when `opset` is above {@link latestOpset}.
 */
export function minIrVersionForOpset(opset: number): number {
  // The default domain is always in fieldByDomain, so the result is defined.
  return minIrVersionForDomainOpset('', opset) as number;
}

/**
 * The first ONNX release that shipped default-domain opset `opset`, or
 * undefined when none did.
 */
export function firstReleaseWithOpset(opset: number): OnnxRelease | undefined {
  return onnxReleases.find((entry) => entry.opset >= opset);
}
