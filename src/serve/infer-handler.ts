/**
 * The inference route: body → checked request → queue → response, with the
 * statistics of every request that reached a model.
 */
import { MlctlError } from '../common/errors.js';
import { HttpError, badRequest } from './http-error.js';
import { parseInferRequest } from './infer-request.js';
import { encodeInferResponse, type EncodedResponse } from './infer-response.js';
import { parseJsonObject } from './json-body.js';
import type { ModelInstance } from './model-registry.js';
import type { FailureReason } from './stats.js';

const EMPTY = new Uint8Array(0);

function now(): number {
  return Number(process.hrtime.bigint());
}

/**
 * Splits a body into the JSON request and the binary data after it
 * (`Inference-Header-Content-Length` gives the JSON part's length).
 * @throws HttpError 400 for a header that is not a byte count within the body.
 */
export function splitInferBody(body: Uint8Array, headerLength: string | string[] | undefined): { json: Uint8Array; binary: Uint8Array } {
  if (headerLength === undefined) return { json: body, binary: EMPTY };
  const text = Array.isArray(headerLength) ? headerLength.join(',') : headerLength;
  const length = /^\s*\d{1,15}\s*$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(length) || length > body.length) {
    throw badRequest(`Inference-Header-Content-Length is '${text}' but must be the byte length of the JSON part, at most the body's ${body.length} bytes`);
  }
  return { json: body.subarray(0, length), binary: body.subarray(length) };
}

function failureReason(error: unknown): FailureReason {
  if (error instanceof HttpError && error.status === 503) return 'REJECTED';
  if (error instanceof HttpError && error.cause instanceof MlctlError && error.cause.code === 'MLCTL_RUNTIME') return 'BACKEND';
  return 'OTHER';
}

/**
 * Runs one inference request on `instance`.
 * @param body the raw request body (empty when none was sent).
 * @param headerLength the `Inference-Header-Content-Length` header, if any.
 * @throws HttpError for the client's mistakes (400) and when the model cannot take it (503).
 */
export async function handleInfer(instance: ModelInstance, body: Uint8Array, headerLength: string | string[] | undefined): Promise<EncodedResponse> {
  const started = now();
  try {
    const { json, binary } = splitInferBody(body, headerLength);
    const what = headerLength === undefined ? 'the request body' : 'the inference header (the JSON part of the body)';
    const request = parseInferRequest(parseJsonObject(json, what), binary, body.length, instance.signature, instance.label);
    const result = await instance.scheduler.submit(request);
    const response = encodeInferResponse({ modelName: instance.name, modelVersion: String(instance.version), id: request.id }, request.outputs, result.outputs);
    const finished = now();
    instance.stats.recordSuccess(request.batchSize, {
      totalNs: finished - started,
      queueNs: result.queueNs,
      computeInputNs: result.computeInputNs,
      computeInferNs: result.computeInferNs,
      computeOutputNs: finished - result.outputStartNs,
    });
    return response;
  } catch (error) {
    instance.stats.recordFailure(failureReason(error), now() - started);
    throw error;
  }
}
