/**
 * What every command that writes a model shares: the tool version recorded in
 * provenance, the checks on its -o path before any work starts, and the
 * error of a failed --min-cosine gate.
 */
import { readFileSync } from 'node:fs';
import { MlctlError, UsageError } from '../common/errors.js';
import { sameFile } from '../common/same-file.js';
import type { CosineGate } from '../verify/job-common.js';

let cachedVersion: string | undefined;

/** mlctl's version from package.json (two levels up from both src/cli/ and dist/cli/). */
export function packageVersion(): string {
  if (cachedVersion === undefined) {
    const manifest: unknown = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
    cachedVersion = typeof manifest === 'object' && manifest !== null && 'version' in manifest && typeof manifest.version === 'string'
      ? manifest.version
      : '0.0.0';
  }
  return cachedVersion;
}


/**
 * Checks a command's output path before any work: present, not the input
 * model, and not an existing file unless `force`.
 * @throws UsageError; MlctlError MLCTL_OUTPUT_EXISTS (exit 2).
 */
export async function checkModelOutput(command: string, input: string, output: string | undefined, force: boolean): Promise<string> {
  if (output === undefined || output === '') throw new UsageError(`${command} needs an output path: pass -o <out.onnx>`);
  if (await sameFile(output, input)) {
    throw new UsageError(`the output path '${output}' is the input model; ${command} never overwrites its input`, { hint: 'choose another -o path' });
  }
  const { assertWritable } = await import('../common/atomic-file.js');
  await assertWritable(output, { force });
  return output;
}

/**
 * Throws when the `--min-cosine` gate was not met (the job then wrote nothing).
 * @param unchecked - why no cosine was measured, for the message when there is none.
 * @param hint - what the user can try instead.
 * @throws MlctlError MLCTL_CHECK_FAILED (exit 1).
 */
export function assertCosineGate(gate: CosineGate | undefined, unchecked: string, hint: string): void {
  if (gate === undefined || gate.passed) return;
  const worst = gate.worstCosine;
  throw new MlctlError(
    'MLCTL_CHECK_FAILED',
    worst === null
      ? `--min-cosine ${gate.minCosine} could not be checked (${unchecked}); nothing was written`
      : `the lowest output cosine ${worst.toFixed(6)} is below --min-cosine ${gate.minCosine}; nothing was written`,
    { hint },
  );
}
