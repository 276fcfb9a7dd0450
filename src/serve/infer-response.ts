/**
 * Writing an inference response: the protocol's response object, with each
 * output as JSON `data` or, when asked for, as binary data after the JSON
 * (Triton's binary tensor data extension, `Inference-Header-Content-Length`).
 */
import type { HostTensor } from '../runtime/types.js';
import { datatypeOfDtype } from './datatypes.js';
import type { RequestedOutput } from './infer-request.js';
import { encodeBinaryData } from './tensor-binary.js';
import { encodeJsonData } from './tensor-json.js';

/** A response body and the headers that describe it. */
export interface EncodedResponse {
  body: string | Buffer;
  contentType: string;
  /** The JSON part's length in bytes when binary data follows it. */
  inferenceHeaderLength: number | undefined;
}

/** What identifies the response. */
export interface ResponseIdentity {
  modelName: string;
  modelVersion: string;
  id: string | undefined;
}

/**
 * Encodes the requested outputs, in the order requested.
 * @throws Error when the run did not return a requested output (a bug, answered with 500).
 */
export function encodeInferResponse(identity: ResponseIdentity, requested: readonly RequestedOutput[], outputs: Record<string, HostTensor>): EncodedResponse {
  const parts: string[] = [];
  const binaries: Uint8Array[] = [];
  for (const output of requested) {
    const tensor = outputs[output.name];
    if (tensor === undefined) throw new Error(`the run returned no output '${output.name}'`);
    const datatype = datatypeOfDtype(tensor.dtype)?.name ?? tensor.dtype;
    const head = `{"name":${JSON.stringify(output.name)},"datatype":"${datatype}","shape":[${tensor.dims.join(',')}]`;
    if (output.binary) {
      const bytes = encodeBinaryData(tensor);
      binaries.push(bytes);
      parts.push(`${head},"parameters":{"binary_data_size":${bytes.byteLength}}}`);
    } else {
      parts.push(`${head},"data":${encodeJsonData(tensor)}}`);
    }
  }
  const id = identity.id === undefined ? '' : `,"id":${JSON.stringify(identity.id)}`;
  const header = `{"model_name":${JSON.stringify(identity.modelName)},"model_version":${JSON.stringify(identity.modelVersion)}${id},"outputs":[${parts.join(',')}]}`;
  if (binaries.length === 0) return { body: header, contentType: 'application/json', inferenceHeaderLength: undefined };
  const headerBytes = Buffer.from(header, 'utf8');
  return {
    body: Buffer.concat([headerBytes, ...binaries]),
    contentType: 'application/octet-stream',
    inferenceHeaderLength: headerBytes.byteLength,
  };
}
