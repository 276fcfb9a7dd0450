import { describe, expect, it } from 'vitest';
import { describeTensor, forEachTensorProto, mapTensorProtos } from '../../src/onnx/tensor-walk.js';
import { AttributeType, DataType, type FunctionProto, type ModelProto, type TensorProto } from '../../src/onnx/types.js';
import {
  attributeLiteral,
  constantNode,
  floatTensor,
  graphLiteral,
  modelLiteral,
  nodeLiteral,
  sparseLiteral,
  tensorLiteral,
} from '../helpers/proto-literals.js';

const t = (name: string): TensorProto => floatTensor(name, [1], [1]);
const indices = (name: string): TensorProto => tensorLiteral({ name, dims: [1n], dataType: DataType.INT64, int64Data: [0n] });

/** A model with a tensor in every place a TensorProto can be. */
function everyPlaceModel(): ModelProto {
  const thenBranch = graphLiteral({ name: 'then', node: [constantNode('c', t('then_const'), 'k')], initializer: [t('then_init')] });
  const fn: FunctionProto = {
    name: 'F',
    domain: 'custom',
    input: [],
    output: ['y'],
    attribute: [],
    attributeProto: [attributeLiteral('default_t', AttributeType.TENSOR, { t: t('fn_default') })],
    node: [constantNode('y', t('fn_const'))],
    opsetImport: [],
    valueInfo: [],
    metadataProps: [],
  };
  const graph = graphLiteral({
    name: 'main',
    initializer: [t('init')],
    sparseInitializer: [sparseLiteral(t('sparse_values'), indices('sparse_indices'), [4])],
    node: [
      nodeLiteral('Custom', [], ['a'], [
        attributeLiteral('one', AttributeType.TENSOR, { t: t('attr_t') }),
        attributeLiteral('many', AttributeType.TENSORS, { tensors: [t('attr_tensors0'), t('attr_tensors1')] }),
        attributeLiteral('sp', AttributeType.SPARSE_TENSOR, { sparseTensor: sparseLiteral(t('attr_sv'), indices('attr_si'), [4]) }),
        attributeLiteral('sps', AttributeType.SPARSE_TENSORS, { sparseTensors: [sparseLiteral(t('attr_ssv'), indices('attr_ssi'), [4])] }),
      ], 'custom'),
      nodeLiteral('If', ['cond'], ['b'], [attributeLiteral('then_branch', AttributeType.GRAPH, { g: thenBranch })], 'branch'),
      nodeLiteral('Loop', [], [], [attributeLiteral('bodies', AttributeType.GRAPHS, { graphs: [graphLiteral({ name: 'g0', initializer: [t('graphs_init')] })] })]),
    ],
  });
  return modelLiteral(graph, {
    functions: [fn],
    trainingInfo: [{ initialization: graphLiteral({ name: 'init', initializer: [t('training_init')] }), initializationBinding: [], updateBinding: [] }],
  });
}

describe('forEachTensorProto', () => {
  it('visits every tensor of a model, in order, with its role and path', () => {
    const seen: string[] = [];
    forEachTensorProto(everyPlaceModel(), (tensor, where) => seen.push(`${tensor.name} ${where.role} @ ${where.path}`));
    expect(seen).toEqual([
      "init initializer @ graph 'main' > initializer 'init'",
      "sparse_values sparse-initializer-values @ graph 'main' > sparse_initializer #0.values",
      "sparse_indices sparse-initializer-indices @ graph 'main' > sparse_initializer #0.indices",
      "attr_t attribute @ graph 'main' > node 'custom' (Custom).one",
      "attr_tensors0 attribute @ graph 'main' > node 'custom' (Custom).many[0]",
      "attr_tensors1 attribute @ graph 'main' > node 'custom' (Custom).many[1]",
      "attr_sv sparse-attribute-values @ graph 'main' > node 'custom' (Custom).sp.values",
      "attr_si sparse-attribute-indices @ graph 'main' > node 'custom' (Custom).sp.indices",
      "attr_ssv sparse-attribute-values @ graph 'main' > node 'custom' (Custom).sps[0].values",
      "attr_ssi sparse-attribute-indices @ graph 'main' > node 'custom' (Custom).sps[0].indices",
      "then_init initializer @ graph 'main' > node 'branch' (If).then_branch > initializer 'then_init'",
      "then_const attribute @ graph 'main' > node 'branch' (If).then_branch > node 'k' (Constant).value",
      "graphs_init initializer @ graph 'main' > node #2 (Loop).bodies[0] > initializer 'graphs_init'",
      "training_init initializer @ trainingInfo[0].initialization > initializer 'training_init'",
      "fn_const attribute @ function 'custom.F' > node #0 (Constant).value",
      "fn_default attribute @ function 'custom.F'.default_t",
    ]);
  });

  it('tells which graph, node and function hold a tensor', () => {
    const found = new Map<string, { graph?: string; node?: string; fn?: string }>();
    forEachTensorProto(everyPlaceModel(), (tensor, where) => {
      found.set(tensor.name ?? '', { graph: where.graph?.name, node: where.node?.opType, fn: where.function?.name });
    });
    expect(found.get('then_const')).toEqual({ graph: 'then', node: 'Constant', fn: undefined });
    expect(found.get('fn_const')).toEqual({ graph: undefined, node: 'Constant', fn: 'F' });
    expect(found.get('fn_default')).toEqual({ graph: undefined, node: undefined, fn: 'F' });
    expect(found.get('init')).toEqual({ graph: 'main', node: undefined, fn: undefined });
  });
});

describe('mapTensorProtos', () => {
  it('returns the same model when nothing is replaced', () => {
    const model = everyPlaceModel();
    expect(mapTensorProtos(model, () => undefined)).toBe(model);
  });

  it('copies only the path to a replaced tensor and never mutates the input', () => {
    const model = everyPlaceModel();
    const before = structuredClone(model);
    const out = mapTensorProtos(model, (tensor) => (tensor.name === 'then_const' ? { ...tensor, name: 'renamed' } : undefined));
    expect(model).toEqual(before);
    expect(out).not.toBe(model);
    expect(out.graph!.initializer).toBe(model.graph!.initializer);
    expect(out.graph!.node[0]).toBe(model.graph!.node[0]);
    expect(out.functions).toBe(model.functions);
    const names: string[] = [];
    forEachTensorProto(out, (tensor) => names.push(tensor.name ?? ''));
    expect(names).toContain('renamed');
    expect(names).not.toContain('then_const');
  });
});

describe('describeTensor', () => {
  it('names a tensor by name, or by path when unnamed', () => {
    expect(describeTensor(t('W'))).toBe("tensor 'W'");
    const unnamed = tensorLiteral({ dims: [1n] });
    const model = modelLiteral(graphLiteral({ name: 'g', node: [constantNode('c', unnamed, 'n')] }));
    let label = '';
    forEachTensorProto(model, (tensor, where) => {
      label = describeTensor(tensor, where);
    });
    expect(label).toBe("the unnamed tensor at graph 'g' > node 'n' (Constant).value");
  });
});
