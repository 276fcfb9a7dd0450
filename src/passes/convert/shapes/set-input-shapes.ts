/**
 * `--shape name=dims`: fixes the dims of graph inputs, then propagates shapes
 * through the graph (see infer-types.ts) and writes them into value_info and
 * the graph outputs, so that later tools (compilers, TensorRT, mlctl's own
 * folding) see static shapes.
 *
 * A symbolic dim (`dim_param`) bound by an input is replaced by its size
 * wherever the model uses the same name, since the same name means the same
 * size. When an input dim the model fixed changes (re-targeting a 224×224
 * model to 320×320), every declared shape may be stale: value_info keeps only
 * what inference re-derives, and element types.
 */
import { MlctlError } from '../../../common/errors.js';
import { forEachGraph, graphRuntimeInputs } from '../../../onnx/graph.js';
import type { GraphProto, ModelProto, TensorShapeDimension, TypeProto, ValueInfoProto } from '../../../onnx/types.js';
import { declaredType, inferModelTypes } from './infer-types.js';
import { formatShape, isStaticShape, type Dim, type ValueType } from './types.js';

/** One input's dims before and after. */
export interface InputShapeChange {
  name: string;
  before: Dim[] | undefined;
  after: number[];
}

/** What {@link setInputShapes} did. */
export interface SetShapesReport {
  inputs: InputShapeChange[];
  /** Symbolic dims bound to a size, e.g. `{ batch: 1 }`. */
  boundSymbols: Record<string, number>;
  /** Input dims the model fixed that now have another size. */
  changedFixedDims: { input: string; axis: number; before: number; after: number }[];
  /** Graph outputs before and after. */
  outputs: { name: string; before: Dim[] | undefined; after: Dim[] | undefined }[];
  /** Main-graph values with a value_info entry after the pass, and how many of them are fully static. */
  valueInfo: { entries: number; static: number; dropped: number };
  notes: string[];
}

/** The result of {@link setInputShapes}. */
export interface SetShapesResult {
  model: ModelProto;
  report: SetShapesReport;
}

function badShape(message: string, hint?: string): MlctlError {
  return new MlctlError('MLCTL_BAD_INPUT', message, hint === undefined ? {} : { hint });
}

function toDimension(dim: Dim): TensorShapeDimension {
  if (dim === null) return {};
  if (typeof dim === 'number') return { dimValue: BigInt(dim) };
  return { dimParam: dim };
}

/** `type` with its tensor shape replaced (a copy). */
function withDims(type: TypeProto | undefined, elemType: number | undefined, dims: readonly Dim[] | undefined): TypeProto {
  const tensorType = { ...(type?.tensorType ?? {}) };
  if (elemType !== undefined) tensorType.elemType = elemType;
  if (dims === undefined) delete tensorType.shape;
  else tensorType.shape = { dim: dims.map(toDimension) };
  return { ...(type ?? {}), tensorType };
}

function substituteSymbols(info: ValueInfoProto, symbols: ReadonlyMap<string, number>): ValueInfoProto {
  const shape = info.type?.tensorType?.shape;
  if (shape === undefined || !shape.dim.some((dim) => dim.dimParam !== undefined && symbols.has(dim.dimParam))) return info;
  const dim = shape.dim.map((d) => (d.dimParam !== undefined && symbols.has(d.dimParam) ? { dimValue: BigInt(symbols.get(d.dimParam)!) } : d));
  return { ...info, type: { ...info.type, tensorType: { ...info.type!.tensorType, shape: { dim } } } };
}

function checkRequest(graph: GraphProto, shapes: Readonly<Record<string, readonly number[]>>): void {
  const inputs = graphRuntimeInputs(graph);
  const names = inputs.map((info) => `'${info.name ?? ''}'`).join(', ');
  for (const [name, dims] of Object.entries(shapes)) {
    const input = inputs.find((info) => info.name === name);
    if (input === undefined) {
      const isWeight = graph.initializer.some((tensor) => tensor.name === name);
      throw badShape(
        isWeight
          ? `--shape '${name}': '${name}' is an initializer (a weight), not an input the caller feeds`
          : `--shape '${name}': the model has no input '${name}'; its inputs are ${names === '' ? 'none' : names}`,
      );
    }
    if (input.type?.tensorType === undefined) throw badShape(`--shape '${name}': input '${name}' is not a tensor, so it has no dims to set`);
    if (!dims.every((dim) => Number.isSafeInteger(dim) && dim >= 0)) {
      throw badShape(`--shape '${name}=${dims.join(',')}': dims must be non-negative integers`);
    }
    const declared = declaredType(input)?.dims;
    if (declared !== undefined && declared.length !== dims.length) {
      throw badShape(
        `--shape '${name}=${dims.join(',')}' has rank ${dims.length}, but input '${name}' has rank ${declared.length} (${formatShape(declared)})`,
        `give ${declared.length} dims, e.g. --shape ${name}=${declared.map((dim) => (typeof dim === 'number' ? dim : 1)).join(',')}`,
      );
    }
  }
}

/**
 * Sets the dims of the named graph inputs and propagates shapes.
 *
 * @param shapes - full dims by input name.
 * @throws MlctlError MLCTL_BAD_INPUT when a name is not a runtime input of
 *   the main graph, a rank differs from the model's, a dim is negative, or
 *   one symbolic dim would get two sizes.
 */
export function setInputShapes(model: ModelProto, shapes: Readonly<Record<string, readonly number[]>>): SetShapesResult {
  const graph = model.graph;
  if (graph === undefined) throw badShape('--shape needs a model with a graph; this model has only functions');
  checkRequest(graph, shapes);

  const symbols = new Map<string, number>();
  const symbolSource = new Map<string, string>();
  const changes: InputShapeChange[] = [];
  const changedFixedDims: SetShapesReport['changedFixedDims'] = [];
  const inputTypes = new Map<string, ValueType>();
  for (const [name, dims] of Object.entries(shapes)) {
    const info = graph.input.find((entry) => entry.name === name)!;
    const declared = declaredType(info);
    declared?.dims?.forEach((dim, axis) => {
      const size = dims[axis]!;
      if (typeof dim === 'string') {
        const bound = symbols.get(dim);
        if (bound !== undefined && bound !== size) {
          throw badShape(`--shape sets dim '${dim}' to ${bound} for input '${symbolSource.get(dim)}' and to ${size} for input '${name}'; a named dim has one size`);
        }
        symbols.set(dim, size);
        symbolSource.set(dim, name);
      } else if (typeof dim === 'number' && dim !== size) {
        changedFixedDims.push({ input: name, axis, before: dim, after: size });
      }
    });
    changes.push({ name, before: declared?.dims === undefined ? undefined : [...declared.dims], after: [...dims] });
    inputTypes.set(name, { elemType: declared?.elemType, dims: [...dims] });
  }
  const trustDeclared = changedFixedDims.length === 0;

  // Bind symbols everywhere first, so that inference and every later reader agree.
  const bound = new Map<GraphProto, GraphProto>();
  forEachGraph(model, (g) => {
    bound.set(g, {
      ...g,
      input: g.input.map((info) => substituteSymbols(info, symbols)),
      output: g.output.map((info) => substituteSymbols(info, symbols)),
      valueInfo: g.valueInfo.map((info) => substituteSymbols(info, symbols)),
    });
  });
  const boundMain = bound.get(graph)!;
  const staged: ModelProto = { ...model, graph: boundMain };
  const { main } = inferModelTypes(staged, { inputTypes, trustDeclaredShapes: trustDeclared });

  const input = boundMain.input.map((info) => {
    const type = inputTypes.get(info.name ?? '');
    return type === undefined ? info : { ...info, type: withDims(info.type, type.elemType, type.dims) };
  });
  const outputs: SetShapesReport['outputs'] = [];
  const output = boundMain.output.map((info) => {
    const before = declaredType(graph.output.find((o) => o.name === info.name))?.dims;
    const inferred = main.type(info.name ?? '');
    const dims = inferred?.dims ?? (trustDeclared ? declaredType(info)?.dims : undefined);
    outputs.push({ name: info.name ?? '', before: before === undefined ? undefined : [...before], after: dims === undefined ? undefined : [...dims] });
    return { ...info, type: withDims(info.type, declaredType(info)?.elemType ?? inferred?.elemType, dims) };
  });

  const declaredNames = new Set([...input, ...output].map((info) => info.name ?? ''));
  const existing = new Map(boundMain.valueInfo.map((info) => [info.name ?? '', info]));
  const valueInfo: ValueInfoProto[] = [];
  let staticCount = 0;
  let dropped = 0;
  const written = new Set<string>();
  for (const node of boundMain.node) {
    for (const name of node.output) {
      if (name === '' || declaredNames.has(name) || written.has(name)) continue;
      const type = main.type(name);
      const previous = existing.get(name);
      if (type?.elemType !== undefined && type.dims !== undefined) {
        valueInfo.push({ name, type: withDims(previous?.type, type.elemType, type.dims), metadataProps: previous?.metadataProps ?? [] });
        written.add(name);
        if (isStaticShape(type.dims)) staticCount += 1;
      }
    }
  }
  for (const info of boundMain.valueInfo) {
    const name = info.name ?? '';
    if (written.has(name) || declaredNames.has(name)) continue;
    if (trustDeclared) valueInfo.push(info);
    else {
      // Its dims may describe the old input shape: keep the element type only.
      valueInfo.push({ ...info, type: withDims(info.type, declaredType(info)?.elemType, undefined) });
      dropped += 1;
    }
  }

  const notes: string[] = [];
  if (changedFixedDims.length > 0) {
    notes.push(`input dims the model fixed were changed (${changedFixedDims.map((c) => `${c.input} axis ${c.axis}: ${c.before} → ${c.after}`).join(', ')}); constants baked for the old size (Reshape targets) are not rewritten`);
  }
  const unknownOutputs = outputs.filter((o) => !isStaticShape(o.after)).map((o) => `'${o.name}'`);
  if (unknownOutputs.length > 0) notes.push(`shapes of output ${unknownOutputs.join(', ')} could not be fully inferred`);

  const newMain: GraphProto = { ...boundMain, input, output, valueInfo };
  const result = replaceSubgraphs({ ...model, graph: newMain }, bound);
  return {
    model: result,
    report: {
      inputs: changes,
      boundSymbols: Object.fromEntries(symbols),
      changedFixedDims,
      outputs,
      valueInfo: { entries: valueInfo.length, static: staticCount, dropped },
      notes,
    },
  };
}

/** The model with every subgraph of the main graph replaced by its symbol-bound copy (the main graph already is). */
function replaceSubgraphs(model: ModelProto, bound: ReadonlyMap<GraphProto, GraphProto>): ModelProto {
  const swap = (graph: GraphProto): GraphProto => {
    const replaced = graph === model.graph ? graph : (bound.get(graph) ?? graph);
    let changed = replaced !== graph;
    const node = replaced.node.map((n) => {
      if (!n.attribute.some((a) => a.g !== undefined || a.graphs.length > 0)) return n;
      changed = true;
      return {
        ...n,
        attribute: n.attribute.map((a) => {
          if (a.g === undefined && a.graphs.length === 0) return a;
          const next = { ...a, graphs: a.graphs.map(swap) };
          if (a.g !== undefined) next.g = swap(a.g);
          return next;
        }),
      };
    });
    return changed ? { ...replaced, node } : replaced;
  };
  return { ...model, graph: swap(model.graph!) };
}
