/**
 * The conformance tests' tables: values per datatype, and client mistakes with
 * the 400 message each must get.
 */
import { bytesOf } from './http.js';

/** Values per datatype for the JSON round trip, including each type's extremes. */
export const jsonValues: Record<string, unknown[]> = {
  BOOL: [true, false, true],
  UINT8: [0, 7, 255],
  UINT16: [0, 1000, 65535],
  UINT32: [0, 70000, 4294967295],
  UINT64: [0, 1, 9007199254740991],
  INT8: [-128, 0, 127],
  INT16: [-32768, 5, 32767],
  INT32: [-2147483648, 5, 2147483647],
  INT64: [-9007199254740991, 0, 9007199254740991],
  FP32: [1.5, -0.25, 3.4028234663852886e38],
  FP64: [1.5, -1e-300, 1.7976931348623157e308],
  BYTES: ['hello', '', 'ünïcødé ✓'],
};

/** Binary payloads per datatype. */
export const binaryValues: Record<string, Uint8Array> = {
  BOOL: new Uint8Array([1, 0, 1]),
  UINT8: new Uint8Array([0, 128, 255]),
  UINT16: bytesOf(new Uint16Array([0, 1, 65535])),
  UINT32: bytesOf(new Uint32Array([0, 1, 4294967295])),
  UINT64: bytesOf(new BigUint64Array([0n, 1n, 18446744073709551615n])),
  INT8: bytesOf(new Int8Array([-128, 0, 127])),
  INT16: bytesOf(new Int16Array([-32768, 0, 32767])),
  INT32: bytesOf(new Int32Array([-2147483648, 0, 2147483647])),
  INT64: bytesOf(new BigInt64Array([-9223372036854775808n, 0n, 9223372036854775807n])),
  FP16: bytesOf(new Uint16Array([0x3c00, 0xc000, 0x7c00])),
  FP32: bytesOf(new Float32Array([1.5, Number.NaN, -Infinity])),
  FP64: bytesOf(new Float64Array([Math.PI, -0, 1e-310])),
  BYTES: Buffer.concat([Buffer.from([5, 0, 0, 0]), Buffer.from('hello'), Buffer.from([0, 0, 0, 0]), Buffer.from([3, 0, 0, 0]), Buffer.from('✓')]),
};

export const x4 = { name: 'x', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] };

/** Client mistakes: model, body, and the expected 400 message. */
export const badRequests: [string, string, unknown, Record<string, string> | undefined, RegExp][] = [
  ['unknown input', 'scale', { inputs: [x4, { ...x4, name: 'q' }] }, undefined, /model 'scale' version 2 has no input 'q'; its inputs are 'x'/],
  ['missing input', 'add_sub', { inputs: [{ name: 'a', shape: [2, 3], datatype: 'FP32', data: [1, 2, 3, 4, 5, 6] }] }, undefined, /needs input 'b' \(FP32 \[2, 3\]\), which the request lacks/],
  ['input given twice', 'scale', { inputs: [x4, x4] }, undefined, /input 'x' is given twice/],
  ['wrong datatype', 'scale', { inputs: [{ ...x4, datatype: 'INT32' }] }, undefined, /input 'x': expected datatype FP32, got INT32/],
  ['unknown datatype', 'scale', { inputs: [{ ...x4, datatype: 'FLOAT' }] }, undefined, /unknown datatype 'FLOAT'; expected one of BOOL, UINT8/],
  ['wrong rank', 'scale', { inputs: [{ ...x4, shape: [4] }] }, undefined, /expected shape \[-1, 4\] \(rank 2\), got \[4\] \(rank 1\)/],
  ['wrong fixed dim', 'scale', { inputs: [{ ...x4, shape: [2, 2] }] }, undefined, /expected shape \[-1, 4\], got \[2, 2\] \(dim 1 must be 4\)/],
  ['too few elements', 'scale', { inputs: [{ ...x4, shape: [2, 4] }] }, undefined, /"data" has 4 elements but shape \[2, 4\] needs 8/],
  ['too many elements', 'scale', { inputs: [{ ...x4, data: [1, 2, 3, 4, 5] }] }, undefined, /"data" has more than the 4 elements that shape \[1, 4\] needs/],
  ['negative dim', 'scale', { inputs: [{ ...x4, shape: [-1, 4] }] }, undefined, /"shape" \[-1,4\] has the dim the number -1; dims are non-negative integers/],
  ['fractional dim', 'scale', { inputs: [{ ...x4, shape: [1.5, 4] }] }, undefined, /has the dim the number 1.5/],
  ['huge shape', 'scale', { inputs: [{ ...x4, shape: [1e12, 4] }] }, undefined, /shape \[1000000000000, 4\] claims 4000000000000 elements, more than the \d+-byte request can hold/],
  ['astronomic shape', 'scale', { inputs: [{ ...x4, shape: [1e300, 4] }] }, undefined, /dims are non-negative integers/],
  ['string where a number goes', 'scale', { inputs: [{ ...x4, data: [1, 2, '3', 4] }] }, undefined, /element 2 is the string "3"; FP32 takes numbers within ±3.4028235e38/],
  ['FP32 overflow', 'scale', { inputs: [{ ...x4, data: [1, 2, 3, 1e39] }] }, undefined, /element 3 is the number 1e\+39; FP32 takes numbers/],
  ['INT8 out of range', 'id_int8', { inputs: [{ name: 'x', shape: [2], datatype: 'INT8', data: [1, 200] }] }, undefined, /element 1 is the number 200; INT8 takes integers in \[-128, 127\]/],
  ['UINT8 negative', 'id_uint8', { inputs: [{ name: 'x', shape: [1], datatype: 'UINT8', data: [-1] }] }, undefined, /UINT8 takes integers in \[0, 255\]/],
  ['UINT64 negative', 'id_uint64', { inputs: [{ name: 'x', shape: [1], datatype: 'UINT64', data: [-1] }] }, undefined, /UINT64 takes integers in \[0, 18446744073709551615\]/],
  ['INT32 fraction', 'id_int32', { inputs: [{ name: 'x', shape: [1], datatype: 'INT32', data: [1.5] }] }, undefined, /element 0 is the number 1.5; INT32 takes integers/],
  ['INT64 beyond 2^53 in JSON', 'id_int64', { inputs: [{ name: 'x', shape: [1], datatype: 'INT64', data: [2 ** 60] }] }, undefined, /lose precision, so send such INT64 values as binary data/],
  ['BOOL as a number', 'id_bool', { inputs: [{ name: 'x', shape: [1], datatype: 'BOOL', data: [1] }] }, undefined, /element 0 is the number 1; BOOL takes true or false/],
  ['BYTES as a number', 'id_bytes', { inputs: [{ name: 'x', shape: [1], datatype: 'BYTES', data: [1] }] }, undefined, /BYTES takes strings/],
  ['data nested deeper than the rank', 'scale', { inputs: [{ ...x4, data: [[[1, 2, 3, 4]]] }] }, undefined, /nests deeper than the input's rank 2/],
  ['data not an array', 'scale', { inputs: [{ ...x4, data: 'abc' }] }, undefined, /"data" must be an array, not the string "abc"/],
  ['no data', 'scale', { inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32' }] }, undefined, /has neither "data" nor parameters.binary_data_size/],
  ['inputs not an array', 'scale', { inputs: {} }, undefined, /"inputs" must be an array, not an object/],
  ['no inputs', 'scale', {}, undefined, /"inputs" must be an array, not undefined/],
  ['id not a string', 'scale', { id: 42, inputs: [x4] }, undefined, /"id" must be a string, not the number 42/],
  ['unknown output', 'scale', { inputs: [x4], outputs: [{ name: 'z' }] }, undefined, /has no output 'z'; its outputs are 'y'/],
  ['FP16 output asked as JSON', 'id_fp16', '__fp16_json_output__', undefined, /output 'y' is FP16, which travels only as binary data/],
  ['malformed JSON', 'scale', '{"inputs": [', undefined, /^the request body is not valid JSON: /],
  ['JSON that is not an object', 'scale', '[1, 2]', undefined, /the request body must be a JSON object, not an array/],
  ['empty body', 'scale', '', undefined, /the request body is empty; expected a JSON object/],
  ['JSON nested 10 000 deep', 'scale', `{"inputs":${'['.repeat(10_000)}${']'.repeat(10_000)}}`, undefined, /nests arrays and objects more than 64 levels deep/],
  ['shared memory', 'scale', { inputs: [{ ...x4, parameters: { shared_memory_region: 'r' } }] }, undefined, /shared memory \("shared_memory_region"\), which this server does not support/],
];

const fp32 = bytesOf(new Float32Array([1, 2, 3, 4]));

/** Mistakes in binary requests: the header, the bytes, extra headers, and the expected 400 message. */
export const binaryMistakes: [string, object, Uint8Array, Record<string, string> | undefined, RegExp][] = [
  ['binary_data_size not matching the shape', { inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', parameters: { binary_data_size: 12 } }] }, fp32.subarray(0, 12), undefined, /binary_data_size is 12 bytes but shape \[1, 4\] of FP32 needs 16/],
  ['binary_data_size past the body', { inputs: [{ name: 'x', shape: [2, 4], datatype: 'FP32', parameters: { binary_data_size: 32 } }] }, fp32, undefined, /binary_data_size is 32 bytes but only 16 bytes of binary data remain/],
  ['bytes left over', { inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', parameters: { binary_data_size: 16 } }] }, Buffer.concat([fp32, Buffer.from([1, 2])]), undefined, /has 18 bytes of binary data after the inference header but its inputs' binary_data_size add up to 16/],
  ['binary_data_size negative', { inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', parameters: { binary_data_size: -16 } }] }, fp32, undefined, /"binary_data_size" must be a non-negative integer, not the number -16/],
  ['both data and binary_data_size', { inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4], parameters: { binary_data_size: 16 } }] }, fp32, undefined, /has both "data" and "binary_data_size"/],
  ['header length past the body', { inputs: [] }, fp32, { 'inference-header-content-length': '99999' }, /Inference-Header-Content-Length is '99999' but must be the byte length of the JSON part, at most the body's/],
  ['header length not a number', { inputs: [] }, fp32, { 'inference-header-content-length': 'ten' }, /Inference-Header-Content-Length is 'ten'/],
];
