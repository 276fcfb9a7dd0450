/**
 * Tensor data in JSON, both ways: a request's `data` (flat or nested,
 * row-major) checked value by value against its datatype, and an output's
 * elements written as a flat JSON array.
 */
import type { HostTensor, TensorData } from '../runtime/types.js';
import { allocateFixedSize, type V2DatatypeInfo } from './datatypes.js';
import { badRequest } from './http-error.js';
import { describeJsonValue } from './json-body.js';

/** Largest integer a JSON number carries exactly in JavaScript (2^53 − 1). */
const MAX_EXACT_JSON_INTEGER = Number.MAX_SAFE_INTEGER;

function expectedValues(info: V2DatatypeInfo): string {
  switch (info.kind) {
    case 'bool': return 'true or false';
    case 'bytes': return 'strings';
    case 'float': return info.name === 'FP32' ? 'numbers within ±3.4028235e38' : 'finite numbers';
    default: return `integers in [${String(info.min)}, ${String(info.max)}]`;
  }
}

/**
 * A checker that stores one JSON value at an index, or returns false when
 * the value does not fit the datatype.
 */
type Store = (value: unknown, index: number) => boolean;

function storeFor(info: V2DatatypeInfo, out: TensorData): Store {
  switch (info.kind) {
    case 'float': {
      const array = out as Float32Array | Float64Array;
      const single = info.name === 'FP32';
      return (value, index) => {
        if (typeof value !== 'number') return false;
        // A decimal just above FLT_MAX still rounds to it; only values that become infinite are out of range.
        if (single ? !Number.isFinite(Math.fround(value)) : !Number.isFinite(value)) return false;
        array[index] = value;
        return true;
      };
    }
    case 'integer': {
      const array = out as Int32Array;
      const min = info.min as number;
      const max = info.max as number;
      return (value, index) => {
        if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) return false;
        array[index] = value;
        return true;
      };
    }
    case 'bigint': {
      const array = out as BigInt64Array;
      const min = info.min as bigint;
      return (value, index) => {
        if (typeof value !== 'number' || !Number.isInteger(value)) return false;
        // Beyond 2^53 the parsed number is already rounded, so it cannot be the value the client meant.
        if (Math.abs(value) > MAX_EXACT_JSON_INTEGER || (min === 0n && value < 0)) return false;
        array[index] = BigInt(value);
        return true;
      };
    }
    case 'bool': {
      const array = out as Uint8Array;
      return (value, index) => {
        if (typeof value !== 'boolean') return false;
        array[index] = value ? 1 : 0;
        return true;
      };
    }
    case 'bytes': {
      const array = out as string[];
      return (value, index) => {
        if (typeof value !== 'string') return false;
        array[index] = value;
        return true;
      };
    }
  }
}

function valueError(label: string, info: V2DatatypeInfo, index: number, value: unknown): Error {
  let detail = '';
  if (info.kind === 'bigint' && typeof value === 'number' && Number.isInteger(value) && Math.abs(value) > MAX_EXACT_JSON_INTEGER) {
    detail = `; JSON numbers beyond ±${MAX_EXACT_JSON_INTEGER} lose precision, so send such ${info.name} values as binary data`;
  }
  return badRequest(`${label}: element ${index} is ${describeJsonValue(value)}; ${info.name} takes ${expectedValues(info)}${detail}`);
}

/**
 * Decodes a request input's JSON `data` into a new typed array.
 * @param count the element count its shape gives (already checked against the request's size).
 * @param maxDepth how deep `data` may nest (the input's rank, at least 1).
 * @throws HttpError 400 naming the element for a value of the wrong type or out of range,
 *   and for data whose element count differs from the shape's.
 */
export function decodeJsonData(info: V2DatatypeInfo, data: unknown, count: number, maxDepth: number, label: string, shapeText: string): TensorData {
  if (!info.json) {
    throw badRequest(`${label}: ${info.name} data cannot be sent as JSON; send it as binary data (parameters.binary_data_size) instead`);
  }
  if (!Array.isArray(data)) throw badRequest(`${label}: "data" must be an array, not ${describeJsonValue(data)}`);
  const out = info.dtype === 'string' ? new Array<string>(count) : allocateFixedSize(info, count);
  const store = storeFor(info, out);
  let filled = 0;
  const tooMany = (): Error => badRequest(`${label}: "data" has more than the ${count} elements that shape ${shapeText} needs`);

  const walk = (items: unknown[], depth: number): void => {
    for (let i = 0; i < items.length; i++) {
      const value = items[i];
      if (Array.isArray(value)) {
        if (depth >= maxDepth) throw badRequest(`${label}: "data" nests deeper than the input's rank ${maxDepth}`);
        walk(value, depth + 1);
        continue;
      }
      if (filled >= count) throw tooMany();
      if (!store(value, filled)) throw valueError(label, info, filled, value);
      filled++;
    }
  };
  walk(data, 1);
  if (filled !== count) {
    throw badRequest(`${label}: "data" has ${filled} element${filled === 1 ? '' : 's'} but shape ${shapeText} needs ${count}`);
  }
  return out;
}

function finiteJoin(values: Float32Array | Float64Array): string {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i]!)) return JSON.stringify(Array.from(values));
  }
  return `[${values.join(',')}]`;
}

/**
 * Writes an output's elements as a flat JSON array. Non-finite floats, which
 * JSON cannot express, are written as null (binary outputs keep them).
 * 64-bit integers are written exactly.
 * @throws Error for float16, which has no JSON form (callers ask for binary output instead).
 */
export function encodeJsonData(tensor: HostTensor): string {
  const data = tensor.data;
  switch (tensor.dtype) {
    case 'float32':
    case 'float64':
      return finiteJoin(data as Float32Array | Float64Array);
    case 'bool': {
      const bytes = data as Uint8Array;
      const parts = new Array<string>(bytes.length);
      for (let i = 0; i < bytes.length; i++) parts[i] = bytes[i] === 0 ? 'false' : 'true';
      return `[${parts.join(',')}]`;
    }
    case 'string':
      return JSON.stringify(data);
    case 'float16':
      throw new Error('FP16 outputs travel only as binary data');
    default:
      // Integer typed arrays (64-bit ones as bigints) join to exact decimal JSON numbers.
      return `[${(data as Int32Array).join(',')}]`;
  }
}
