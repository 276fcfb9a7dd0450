/**
 * Checking an inference request against its model and decoding its tensors:
 * the request object of the KServe V2 protocol plus, with Triton's binary
 * tensor data extension, the binary section after it.
 *
 * Every claimed size is checked before anything is allocated: all inputs
 * together may not claim more elements than the request has bytes (every
 * element takes at least one byte in JSON and in binary), so a shape of
 * [1e12] is a 400, never an out-of-memory crash.
 */
import type { HostTensor } from '../runtime/types.js';
import { datatypeByName, datatypeNames } from './datatypes.js';
import { badRequest } from './http-error.js';
import { describeJsonValue } from './json-body.js';
import { formatShape, type ModelSignature, type TensorSignature } from './model-signature.js';
import { binarySizeOf, decodeBinaryData } from './tensor-binary.js';
import { decodeJsonData } from './tensor-json.js';

/** Highest rank a request tensor may claim. */
const MAX_RANK = 64;

/** One output the client asked for. */
export interface RequestedOutput {
  name: string;
  /** Return it as binary data (Triton's `binary_data` / `binary_data_output`). */
  binary: boolean;
}

/** A checked inference request, its tensors decoded. */
export interface InferRequest {
  /** The client's `id`, echoed in the response. */
  id: string | undefined;
  /** One tensor per model input. */
  inputs: Record<string, HostTensor>;
  /** The outputs to return, in the order to return them. */
  outputs: RequestedOutput[];
  /** The inferences this request holds: the inputs' shared first dimension for a batchable model, else 1. */
  batchSize: number;
  /** True when the request may be concatenated with others (batchable model, all inputs share their first dimension). */
  batchable: boolean;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function optionalParameters(value: unknown, where: string): Record<string, unknown> {
  if (value === undefined) return {};
  if (!isObject(value)) throw badRequest(`${where} "parameters" must be an object, not ${describeJsonValue(value)}`);
  if ('shared_memory_region' in value) {
    throw badRequest(`${where} uses shared memory ("shared_memory_region"), which this server does not support; send the data in the request`);
  }
  return value;
}

function optionalBoolean(parameters: Record<string, unknown>, key: string, where: string): boolean | undefined {
  const value = parameters[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean') throw badRequest(`${where} parameter "${key}" must be true or false, not ${describeJsonValue(value)}`);
  return value;
}

function checkShape(value: unknown, label: string): number[] {
  if (!Array.isArray(value)) throw badRequest(`${label}: "shape" must be an array of non-negative integers, not ${describeJsonValue(value)}`);
  if (value.length > MAX_RANK) throw badRequest(`${label}: "shape" has ${value.length} dims; at most ${MAX_RANK} are allowed`);
  for (const dim of value) {
    if (typeof dim !== 'number' || !Number.isSafeInteger(dim) || dim < 0) {
      throw badRequest(`${label}: "shape" ${JSON.stringify(value)} has the dim ${describeJsonValue(dim)}; dims are non-negative integers`);
    }
  }
  return value as number[];
}

function checkAgainstModel(shape: readonly number[], expected: TensorSignature, label: string): void {
  if (shape.length !== expected.shape.length) {
    throw badRequest(`${label}: expected shape ${formatShape(expected.shape)} (rank ${expected.shape.length}), got ${formatShape(shape)} (rank ${shape.length})`);
  }
  expected.shape.forEach((size, axis) => {
    if (size >= 0 && shape[axis] !== size) {
      throw badRequest(`${label}: expected shape ${formatShape(expected.shape)}, got ${formatShape(shape)} (dim ${axis} must be ${size})`);
    }
  });
}

/** Element count of a shape, failing once it passes `budget` (so no product overflows). */
function elementCount(shape: readonly number[], budget: number, label: string, requestBytes: number): number {
  let count = 1;
  for (const dim of shape) count *= dim;
  if (shape.includes(0)) return 0;
  if (!(count <= budget)) {
    const claimed = Number.isSafeInteger(count) ? String(count) : count.toExponential(3);
    throw badRequest(`${label}: shape ${formatShape(shape)} claims ${claimed} elements, more than the ${requestBytes}-byte request can hold`);
  }
  return count;
}

/** The request's inputs in a model's order, each checked and decoded. */
function decodeInputs(
  items: unknown,
  signature: ModelSignature,
  binary: Uint8Array,
  requestBytes: number,
  modelLabel: string,
): Record<string, HostTensor> {
  if (!Array.isArray(items)) throw badRequest(`the request's "inputs" must be an array, not ${describeJsonValue(items)}`);
  const inputs = new Map<string, HostTensor>();
  let elementBudget = requestBytes;
  let binaryOffset = 0;

  for (const [index, item] of items.entries()) {
    if (!isObject(item)) throw badRequest(`inputs[${index}] must be an object, not ${describeJsonValue(item)}`);
    const name = item['name'];
    if (typeof name !== 'string') throw badRequest(`inputs[${index}] needs a "name" string, not ${describeJsonValue(name)}`);
    const label = `input '${name}'`;
    const expected = signature.inputs.find((input) => input.name === name);
    if (expected === undefined) {
      throw badRequest(`${modelLabel} has no input '${name}'; its inputs are ${signature.inputs.map((i) => `'${i.name}'`).join(', ') || 'none'}`);
    }
    if (inputs.has(name)) throw badRequest(`${label} is given twice`);

    const datatypeName = item['datatype'];
    if (typeof datatypeName !== 'string') throw badRequest(`${label}: "datatype" must be a string, not ${describeJsonValue(datatypeName)}`);
    const datatype = datatypeByName(datatypeName);
    if (datatype === undefined) throw badRequest(`${label}: unknown datatype '${datatypeName}'; expected one of ${datatypeNames()}`);
    if (datatype !== expected.datatype) throw badRequest(`${label}: expected datatype ${expected.datatype.name}, got ${datatype.name}`);

    const shape = checkShape(item['shape'], label);
    checkAgainstModel(shape, expected, label);
    const count = elementCount(shape, elementBudget, label, requestBytes);
    elementBudget -= count;

    const parameters = optionalParameters(item['parameters'], label);
    const binarySize = parameters['binary_data_size'];
    if (binarySize !== undefined) {
      if (typeof binarySize !== 'number' || !Number.isSafeInteger(binarySize) || binarySize < 0) {
        throw badRequest(`${label}: "binary_data_size" must be a non-negative integer, not ${describeJsonValue(binarySize)}`);
      }
      if ('data' in item) throw badRequest(`${label} has both "data" and "binary_data_size"; send one of them`);
      const needed = binarySizeOf(datatype, count);
      if (needed !== undefined && binarySize !== needed) {
        throw badRequest(`${label}: binary_data_size is ${binarySize} bytes but shape ${formatShape(shape)} of ${datatype.name} needs ${needed}`);
      }
      if (binarySize > binary.length - binaryOffset) {
        throw badRequest(`${label}: binary_data_size is ${binarySize} bytes but only ${binary.length - binaryOffset} bytes of binary data remain after the inference header`);
      }
      const bytes = binary.subarray(binaryOffset, binaryOffset + binarySize);
      binaryOffset += binarySize;
      inputs.set(name, { dtype: datatype.dtype, dims: shape, data: decodeBinaryData(datatype, bytes, count, label) });
    } else {
      if (!('data' in item)) throw badRequest(`${label} has neither "data" nor parameters.binary_data_size`);
      inputs.set(name, { dtype: datatype.dtype, dims: shape, data: decodeJsonData(datatype, item['data'], count, Math.max(1, shape.length), label, formatShape(shape)) });
    }
  }

  if (binaryOffset !== binary.length) {
    throw badRequest(`the request has ${binary.length} bytes of binary data after the inference header but its inputs' binary_data_size add up to ${binaryOffset}`);
  }
  const missing = signature.inputs.filter((input) => !inputs.has(input.name));
  if (missing.length > 0) {
    const list = missing.map((input) => `'${input.name}' (${input.datatype.name} ${formatShape(input.shape)})`).join(', ');
    throw badRequest(`${modelLabel} needs input ${list}, which the request lacks`);
  }
  // Own properties only (fromEntries defines them), so an input named like an Object method stays an input.
  return Object.fromEntries(inputs);
}

function requestedOutputs(value: unknown, signature: ModelSignature, binaryByDefault: boolean, modelLabel: string): RequestedOutput[] {
  if (value === undefined) return signature.outputs.map((output) => ({ name: output.name, binary: binaryByDefault }));
  if (!Array.isArray(value)) throw badRequest(`the request's "outputs" must be an array, not ${describeJsonValue(value)}`);
  const outputs: RequestedOutput[] = [];
  for (const [index, item] of value.entries()) {
    if (!isObject(item)) throw badRequest(`outputs[${index}] must be an object, not ${describeJsonValue(item)}`);
    const name = item['name'];
    if (typeof name !== 'string') throw badRequest(`outputs[${index}] needs a "name" string, not ${describeJsonValue(name)}`);
    if (!signature.outputs.some((output) => output.name === name)) {
      throw badRequest(`${modelLabel} has no output '${name}'; its outputs are ${signature.outputs.map((o) => `'${o.name}'`).join(', ')}`);
    }
    if (outputs.some((output) => output.name === name)) throw badRequest(`output '${name}' is requested twice`);
    const parameters = optionalParameters(item['parameters'], `output '${name}'`);
    if ('classification' in parameters) throw badRequest(`output '${name}': the classification extension is not supported`);
    outputs.push({ name, binary: optionalBoolean(parameters, 'binary_data', `output '${name}'`) ?? binaryByDefault });
  }
  return outputs;
}

function sharedBatchSize(inputs: Record<string, HostTensor>, signature: ModelSignature): number | undefined {
  if (!signature.batchable) return undefined;
  let size: number | undefined;
  for (const tensor of Object.values(inputs)) {
    const first = tensor.dims[0];
    if (first === undefined || (size !== undefined && first !== size)) return undefined;
    size = first;
  }
  return size;
}

/**
 * Checks an inference request object against a model and decodes its inputs.
 * @param request the parsed JSON request (or inference header).
 * @param binary the bytes after the inference header (empty without the binary extension).
 * @param requestBytes the whole body's size, which bounds the elements the inputs may claim.
 * @param modelLabel names the model in messages, e.g. "model 'mlp' version 1".
 * @throws HttpError 400 with expected-versus-got wording for every mismatch.
 */
export function parseInferRequest(
  request: Record<string, unknown>,
  binary: Uint8Array,
  requestBytes: number,
  signature: ModelSignature,
  modelLabel: string,
): InferRequest {
  const id = request['id'];
  if (id !== undefined && typeof id !== 'string') throw badRequest(`the request's "id" must be a string, not ${describeJsonValue(id)}`);
  const parameters = optionalParameters(request['parameters'], 'the request');
  const binaryByDefault = optionalBoolean(parameters, 'binary_data_output', 'the request') ?? false;
  const inputs = decodeInputs(request['inputs'], signature, binary, requestBytes, modelLabel);
  const outputs = requestedOutputs(request['outputs'], signature, binaryByDefault, modelLabel);
  for (const output of outputs) {
    const datatype = signature.outputs.find((o) => o.name === output.name)?.datatype;
    if (datatype !== undefined && !datatype.json && !output.binary) {
      throw badRequest(`output '${output.name}' is ${datatype.name}, which travels only as binary data; request it with parameters.binary_data: true (or binary_data_output: true)`);
    }
  }
  const batchSize = sharedBatchSize(inputs, signature);
  return { id, inputs, outputs, batchSize: batchSize ?? 1, batchable: batchSize !== undefined && batchSize > 0 };
}
