/**
 * The environment fingerprint of a bench report: versions, OS, CPU and the
 * execution providers, so two reports can be judged comparable (or not).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { providerStatuses } from '../runtime/onnxruntime.js';
import type { EnvironmentFingerprint } from './report-types.js';

function versionIn(file: string | URL): string {
  try {
    const manifest: unknown = JSON.parse(readFileSync(file, 'utf8'));
    if (typeof manifest === 'object' && manifest !== null && 'version' in manifest && typeof manifest.version === 'string') {
      return manifest.version;
    }
  } catch {
    // A missing or unreadable manifest is reported as an unknown version, not an error.
  }
  return 'unknown';
}

/** The version of the installed onnxruntime-node, read from its package.json (the package itself is not loaded here). */
function onnxruntimeVersion(): string {
  try {
    return versionIn(createRequire(import.meta.url).resolve('onnxruntime-node/package.json'));
  } catch {
    return 'unknown';
  }
}

/** Collects the fingerprint of this process and machine. */
export function environmentFingerprint(): EnvironmentFingerprint {
  const cpus = os.cpus();
  return {
    // Two levels up from both src/bench/ and dist/bench/.
    mlctlVersion: versionIn(new URL('../../package.json', import.meta.url)),
    onnxruntimeNodeVersion: onnxruntimeVersion(),
    nodeVersion: process.version,
    v8Version: process.versions.v8,
    os: { type: os.type(), platform: process.platform, release: os.release(), arch: process.arch },
    cpu: {
      model: cpus[0]?.model.trim() ?? 'unknown',
      logicalCpus: cpus.length,
      availableParallelism: os.availableParallelism(),
      speedMHz: cpus[0]?.speed ?? 0,
    },
    totalMemoryBytes: os.totalmem(),
    providers: providerStatuses(),
    ci: process.env['CI'] !== undefined && process.env['CI'] !== '' && process.env['CI'] !== 'false',
  };
}
