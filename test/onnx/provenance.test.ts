import { describe, expect, it } from 'vitest';
import { decodeModel, serializeModel } from '../../src/onnx/model-io.js';
import { provenanceKeys, withProvenance } from '../../src/onnx/provenance.js';
import type { ModelProto } from '../../src/onnx/types.js';

const base: ModelProto = {
  irVersion: 8n,
  opsetImport: [{ domain: '', version: 13n }],
  graph: { node: [], name: 'g', initializer: [], sparseInitializer: [], input: [], output: [], valueInfo: [], quantizationAnnotation: [], metadataProps: [] },
  metadataProps: [{ key: 'author', value: 'someone' }, { key: provenanceKeys.command, value: 'old' }],
  trainingInfo: [],
  functions: [],
  configuration: [],
};

describe('withProvenance', () => {
  it('records version, command, parameters and source hash, replacing earlier provenance', () => {
    const model = withProvenance(base, { toolVersion: '1.2.3', command: 'quantize', parameters: { mode: 'dynamic', minElements: 1024n }, sourceSha256: 'ab'.repeat(32) });
    const props = Object.fromEntries(model.metadataProps.map((e) => [e.key, e.value]));
    expect(props).toEqual({
      author: 'someone',
      'mlctl.version': '1.2.3',
      'mlctl.command': 'quantize',
      'mlctl.parameters': '{"mode":"dynamic","minElements":"1024"}',
      'mlctl.source_sha256': 'ab'.repeat(32),
    });
    expect(base.metadataProps).toHaveLength(2); // input untouched
    const again = decodeModel(serializeModel(model));
    expect(again.metadataProps.map((e) => e.key)).toEqual(['author', 'mlctl.version', 'mlctl.command', 'mlctl.parameters', 'mlctl.source_sha256']);
  });
});
