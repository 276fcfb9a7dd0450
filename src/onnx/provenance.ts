/**
 * Provenance: what produced a model, recorded in its `metadata_props` so a
 * model file says which tool, version, source and parameters made it.
 */
import type { ModelProto, StringStringEntryProto } from './types.js';

export interface Provenance {
  /** The producing tool's version, e.g. mlctl's package version. */
  toolVersion: string;
  /** The command that wrote the model, e.g. 'quantize'. */
  command: string;
  /** The command's effective parameters (JSON-serializable). */
  parameters: Record<string, unknown>;
  /** sha256 (hex) of the source model file. */
  sourceSha256?: string;
}

/** Keys written by {@link withProvenance}; earlier values under these keys are replaced. */
export const provenanceKeys = {
  version: 'mlctl.version',
  command: 'mlctl.command',
  parameters: 'mlctl.parameters',
  sourceSha256: 'mlctl.source_sha256',
} as const;

/** Returns a new model whose metadata_props record `provenance`; other entries are kept in order. */
export function withProvenance(model: ModelProto, provenance: Provenance): ModelProto {
  const ours = new Set<string>(Object.values(provenanceKeys));
  const kept = model.metadataProps.filter((entry) => !ours.has(entry.key ?? ''));
  const added: StringStringEntryProto[] = [
    { key: provenanceKeys.version, value: provenance.toolVersion },
    { key: provenanceKeys.command, value: provenance.command },
    { key: provenanceKeys.parameters, value: JSON.stringify(provenance.parameters, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) },
  ];
  if (provenance.sourceSha256 !== undefined) added.push({ key: provenanceKeys.sourceSha256, value: provenance.sourceSha256 });
  return { ...model, metadataProps: [...kept, ...added] };
}
