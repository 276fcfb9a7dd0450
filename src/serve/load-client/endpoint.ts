/**
 * What a load client needs to know about a V2 endpoint: the model's metadata
 * (from `GET /v2/models/{m}[/versions/{v}]`) and one ready-made request body
 * with seeded random inputs, as JSON or with binary tensor data.
 */
import { MlctlError, describeError } from '../../common/errors.js';
import { randomInputs } from '../../runtime/random-inputs.js';
import type { HostTensor, IoMeta, TensorData } from '../../runtime/types.js';
import { datatypeByName } from '../datatypes.js';
import { encodeBinaryData } from '../tensor-binary.js';
import { httpRequest, type HttpTarget } from './http-client.js';

/** A model input as the metadata describes it. */
interface MetadataTensor {
  name: string;
  datatype: string;
  shape: number[];
}

/** A request ready to send many times. */
export interface PreparedRequest {
  /** The infer path, e.g. /v2/models/mlp/infer. */
  path: string;
  body: Buffer;
  headers: Record<string, string>;
  /** What was fed, for the report. */
  inputs: { name: string; dtype: string; dims: number[]; source: string }[];
  /** The first dimension of the first input, for items per second. */
  itemsPerInference: number;
  /** Output names the response must contain. */
  outputNames: string[];
}

/** How to build the request. */
export interface RequestSpec {
  model: string;
  version?: string | undefined;
  /** Send inputs and ask for outputs as binary tensor data. */
  binary: boolean;
  /** Full shapes by input name; dynamic dims not given are 1. */
  shapes: Record<string, number[]>;
  seed: number;
}

function modelPath(spec: RequestSpec): string {
  const name = encodeURIComponent(spec.model);
  return spec.version === undefined ? `/v2/models/${name}` : `/v2/models/${name}/versions/${encodeURIComponent(spec.version)}`;
}

function isTensorList(value: unknown): value is MetadataTensor[] {
  return Array.isArray(value) && value.every((item: unknown) => typeof item === 'object' && item !== null && typeof (item as MetadataTensor).name === 'string'
    && typeof (item as MetadataTensor).datatype === 'string' && Array.isArray((item as MetadataTensor).shape));
}

function jsonValues(data: TensorData): unknown[] {
  if (Array.isArray(data)) return data;
  if (data instanceof BigInt64Array || data instanceof BigUint64Array) return Array.from(data, (value) => Number(value));
  return Array.from(data as Float32Array);
}

/**
 * Reads the model's metadata and builds one request for it.
 * @throws MlctlError MLCTL_IO when the endpoint cannot be reached or answers with an error;
 *   MLCTL_BAD_INPUT when the metadata is not a V2 model metadata object or an input is FP16
 *   without --binary.
 */
export async function prepareRequest(target: HttpTarget, spec: RequestSpec): Promise<PreparedRequest> {
  const path = modelPath(spec);
  let response;
  try {
    response = await httpRequest(target, 'GET', path, undefined, {});
  } catch (error) {
    throw new MlctlError('MLCTL_IO', `cannot reach ${target.origin}${path}: ${describeError(error)}`, { cause: error });
  }
  if (response.status !== 200) {
    throw new MlctlError('MLCTL_IO', `${target.origin}${path} answered ${response.status}: ${response.body.toString('utf8').slice(0, 300)}`);
  }
  let metadata: { inputs?: unknown; outputs?: unknown };
  try {
    metadata = JSON.parse(response.body.toString('utf8')) as typeof metadata;
  } catch (error) {
    throw new MlctlError('MLCTL_BAD_INPUT', `${target.origin}${path} did not answer with JSON model metadata: ${describeError(error)}`);
  }
  if (!isTensorList(metadata.inputs) || !isTensorList(metadata.outputs)) {
    throw new MlctlError('MLCTL_BAD_INPUT', `${target.origin}${path} did not answer with V2 model metadata (inputs and outputs with name, datatype, shape)`);
  }
  const metas: IoMeta[] = metadata.inputs.map((input) => {
    const datatype = datatypeByName(input.datatype);
    if (datatype === undefined) throw new MlctlError('MLCTL_BAD_INPUT', `input '${input.name}' has datatype '${input.datatype}', which the load client cannot generate`);
    if (!datatype.json && !spec.binary) throw new MlctlError('MLCTL_BAD_INPUT', `input '${input.name}' is ${input.datatype}, which travels only as binary data; add --binary`);
    return { name: input.name, dtype: datatype.dtype, shape: input.shape.map((dim) => (dim >= 0 ? dim : null)) };
  });
  const feeds = randomInputs(metas, { seed: spec.seed, shapeOverrides: spec.shapes, defaultDim: 1 });
  const declared = new Map(metadata.inputs.map((input) => [input.name, input.datatype]));
  const datatypeOf = (name: string): string => declared.get(name) ?? '';
  const outputNames = (metadata.outputs as MetadataTensor[]).map((output) => output.name);
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  let body: Buffer;
  if (spec.binary) {
    const binaries = metas.map((meta) => encodeBinaryData(feeds[meta.name] as HostTensor));
    const header = JSON.stringify({
      inputs: metas.map((meta, index) => ({ name: meta.name, datatype: datatypeOf(meta.name), shape: feeds[meta.name]!.dims, parameters: { binary_data_size: binaries[index]!.byteLength } })),
      outputs: outputNames.map((name) => ({ name, parameters: { binary_data: true } })),
    });
    const headerBytes = Buffer.from(header, 'utf8');
    body = Buffer.concat([headerBytes, ...binaries]);
    headers['content-type'] = 'application/octet-stream';
    headers['inference-header-content-length'] = String(headerBytes.byteLength);
  } else {
    body = Buffer.from(JSON.stringify({
      inputs: metas.map((meta) => ({ name: meta.name, datatype: datatypeOf(meta.name), shape: feeds[meta.name]!.dims, data: jsonValues(feeds[meta.name]!.data) })),
    }), 'utf8');
  }
  const first = metas[0] === undefined ? undefined : feeds[metas[0].name];
  return {
    path: `${path}/infer`,
    body,
    headers,
    inputs: metas.map((meta) => ({ name: meta.name, dtype: datatypeOf(meta.name), dims: feeds[meta.name]!.dims, source: 'random' })),
    itemsPerInference: first?.dims[0] ?? 1,
    outputNames,
  };
}
