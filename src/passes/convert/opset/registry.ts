/**
 * The adapter registry: which adapter converts an operator across the opset
 * step that gave it a new schema version. A version change with no adapter
 * registered changes nothing a node can express (new types, or new
 * attributes and inputs whose defaults keep the old behaviour), except below
 * opset 7, where mlctl registers every change it supports.
 */
import { addedFeatureAdapters } from './adapters/added-features.js';
import { attributeInputAdapters } from './adapters/attribute-inputs.js';
import type { AdapterRegistration, Direction } from './adapters/helpers.js';
import { legacyAdapters } from './adapters/legacy.js';
import { normalizationAdapters } from './adapters/normalization.js';
import { operatorChangeAdapters } from './adapters/operator-changes.js';
import { resizeAdapters } from './adapters/resize.js';
import { softmaxAdapters } from './adapters/softmax.js';
import type { OpAdapter } from './types.js';

export type { Direction } from './adapters/helpers.js';

/** Opsets up to this one have no implicit "compatible" changes: each needs an adapter. */
export const lastLegacyOpset = 7;

const groups: readonly (readonly AdapterRegistration[])[] = [
  attributeInputAdapters,
  softmaxAdapters,
  normalizationAdapters,
  resizeAdapters,
  operatorChangeAdapters,
  addedFeatureAdapters,
  legacyAdapters,
];

function key(opType: string, version: number, direction: Direction): string {
  return `${opType}@${version}:${direction}`;
}

const adapters = new Map<string, OpAdapter>();
for (const group of groups) {
  for (const entry of group) {
    for (const opType of entry.ops) {
      const id = key(opType, entry.version, entry.direction);
      if (adapters.has(id)) throw new Error(`two opset adapters registered for ${id}`);
      adapters.set(id, entry.adapter);
    }
  }
}

/**
 * The adapter converting `opType` across the step that introduced schema
 * version `version` (up: opset `version - 1` → `version`; down: the reverse).
 */
export function findAdapter(opType: string, version: number, direction: Direction): OpAdapter | undefined {
  return adapters.get(key(opType, version, direction));
}

/** Every registered (operator, version, direction), for tests and documentation. */
export function registeredAdapters(): { opType: string; version: number; direction: Direction; adapter: OpAdapter }[] {
  return groups.flatMap((group) =>
    group.flatMap((entry) => entry.ops.map((opType) => ({ opType, version: entry.version, direction: entry.direction, adapter: entry.adapter }))),
  );
}
