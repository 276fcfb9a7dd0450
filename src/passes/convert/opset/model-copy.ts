/**
 * The converter's private copy of a model: every graph, node, attribute and
 * list it may change is copied; tensors, types and function bodies, which it
 * never changes, are shared with the input model (their bytes are views into
 * the source buffer, and copying them would copy that buffer).
 */
import type { AttributeProto, GraphProto, ModelProto, NodeProto } from '../../../onnx/types.js';

function copyAttribute(attribute: AttributeProto): AttributeProto {
  const copy: AttributeProto = {
    ...attribute,
    floats: [...attribute.floats],
    ints: [...attribute.ints],
    strings: [...attribute.strings],
    tensors: [...attribute.tensors],
    graphs: attribute.graphs.map(copyGraph),
    sparseTensors: [...attribute.sparseTensors],
    typeProtos: [...attribute.typeProtos],
  };
  if (attribute.g !== undefined) copy.g = copyGraph(attribute.g);
  return copy;
}

/** A copy of `node` whose lists and attributes (subgraphs included) may be changed freely. */
export function copyNode(node: NodeProto): NodeProto {
  return {
    ...node,
    input: [...node.input],
    output: [...node.output],
    attribute: node.attribute.map(copyAttribute),
    metadataProps: [...node.metadataProps],
    deviceConfigurations: [...node.deviceConfigurations],
  };
}

/** A copy of `graph` whose node lists, nodes and value lists may be changed freely. */
export function copyGraph(graph: GraphProto): GraphProto {
  return {
    ...graph,
    node: graph.node.map(copyNode),
    initializer: [...graph.initializer],
    sparseInitializer: [...graph.sparseInitializer],
    input: [...graph.input],
    output: [...graph.output],
    valueInfo: [...graph.valueInfo],
    quantizationAnnotation: [...graph.quantizationAnnotation],
    metadataProps: [...graph.metadataProps],
  };
}

/** A copy of `model` that the converter may change without touching `model`. */
export function copyModel(model: ModelProto): ModelProto {
  const copy: ModelProto = {
    ...model,
    opsetImport: model.opsetImport.map((entry) => ({ ...entry })),
    metadataProps: [...model.metadataProps],
    trainingInfo: model.trainingInfo.map((info) => {
      const infoCopy = { ...info, initializationBinding: [...info.initializationBinding], updateBinding: [...info.updateBinding] };
      if (info.initialization !== undefined) infoCopy.initialization = copyGraph(info.initialization);
      if (info.algorithm !== undefined) infoCopy.algorithm = copyGraph(info.algorithm);
      return infoCopy;
    }),
    functions: [...model.functions],
    configuration: [...model.configuration],
  };
  if (model.graph !== undefined) copy.graph = copyGraph(model.graph);
  return copy;
}
