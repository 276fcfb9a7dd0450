/**
 * A reader for NumPy `.npy` files (format versions 1–3), little-endian,
 * C order, for the numeric and bool types ONNX inputs use.
 */
import { MlctlError } from '../common/errors.js';
import type { HostTensor, TensorDtype } from './types.js';

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

/** NumPy type codes (without the byte-order character) → element type and size. */
const typeCodes: Readonly<Record<string, { dtype: TensorDtype; bytes: number }>> = {
  f2: { dtype: 'float16', bytes: 2 },
  f4: { dtype: 'float32', bytes: 4 },
  f8: { dtype: 'float64', bytes: 8 },
  i1: { dtype: 'int8', bytes: 1 },
  u1: { dtype: 'uint8', bytes: 1 },
  i2: { dtype: 'int16', bytes: 2 },
  u2: { dtype: 'uint16', bytes: 2 },
  i4: { dtype: 'int32', bytes: 4 },
  u4: { dtype: 'uint32', bytes: 4 },
  i8: { dtype: 'int64', bytes: 8 },
  u8: { dtype: 'uint64', bytes: 8 },
  b1: { dtype: 'bool', bytes: 1 },
};

function bad(label: string, message: string): MlctlError {
  return new MlctlError('MLCTL_BAD_INPUT', `'${label}' is not a usable .npy file: ${message}`);
}

/** The typed array of `dtype` over a fresh, aligned copy of `bytes`. */
function typedCopy(dtype: TensorDtype, bytes: Uint8Array): HostTensor['data'] {
  // Not bytes.slice(): on a Node Buffer that is a view into a shared pool, not a copy.
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  const buffer = copy.buffer;
  switch (dtype) {
    case 'float16': return new Uint16Array(buffer);
    case 'float32': return new Float32Array(buffer);
    case 'float64': return new Float64Array(buffer);
    case 'int8': return new Int8Array(buffer);
    case 'uint8':
    case 'bool': return new Uint8Array(buffer);
    case 'int16': return new Int16Array(buffer);
    case 'uint16': return new Uint16Array(buffer);
    case 'int32': return new Int32Array(buffer);
    case 'uint32': return new Uint32Array(buffer);
    case 'int64': return new BigInt64Array(buffer);
    case 'uint64': return new BigUint64Array(buffer);
    default: throw new Error(`no .npy layout for ${dtype}`);
  }
}

/**
 * Parses a `.npy` file.
 * @param label the file name, for error messages.
 * @throws MlctlError MLCTL_BAD_INPUT for a bad signature or header, a
 *   big-endian, Fortran-order or unsupported type, or data of the wrong size.
 */
export function parseNpy(bytes: Uint8Array, label: string): HostTensor {
  if (bytes.length < 10 || !MAGIC.every((byte, index) => bytes[index] === byte)) throw bad(label, 'it does not start with \\x93NUMPY');
  const major = bytes[6]!;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerStart: number;
  let headerLength: number;
  if (major === 1) {
    headerStart = 10;
    headerLength = view.getUint16(8, true);
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) throw bad(label, 'the header is truncated');
    headerStart = 12;
    headerLength = view.getUint32(8, true);
  } else {
    throw bad(label, `format version ${major} is not supported (expected 1, 2 or 3)`);
  }
  if (headerStart + headerLength > bytes.length) throw bad(label, 'the header is truncated');
  const header = new TextDecoder().decode(bytes.subarray(headerStart, headerStart + headerLength));

  const descr = /'descr'\s*:\s*'([<>|=])([a-z]\d+)'/.exec(header);
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header);
  const shape = /'shape'\s*:\s*\(([^)]*)\)/.exec(header);
  if (descr === null || fortran === null || shape === null) throw bad(label, `cannot read its header ${JSON.stringify(header.trim())}`);
  const [, byteOrder = '', code = ''] = descr;
  const type = typeCodes[code];
  if (type === undefined) throw bad(label, `element type '${byteOrder}${code}' is not supported`);
  if (byteOrder === '>' && type.bytes > 1) throw bad(label, `it is big-endian ('${byteOrder}${code}'); save it little-endian`);
  if (fortran[1] === 'True') throw bad(label, 'it is in Fortran order; save it in C order (np.ascontiguousarray)');
  const dims = (shape[1] ?? '').split(',').map((part) => part.trim()).filter((part) => part !== '').map(Number);
  if (!dims.every((dim) => Number.isSafeInteger(dim) && dim >= 0)) throw bad(label, `shape (${shape[1] ?? ''}) is not a list of sizes`);

  const data = bytes.subarray(headerStart + headerLength);
  const count = dims.reduce((product, dim) => product * dim, 1);
  if (data.length !== count * type.bytes) {
    throw bad(label, `shape (${dims.join(', ')}) of ${code} needs ${count * type.bytes} data bytes, but it holds ${data.length}`);
  }
  return { dtype: type.dtype, dims, data: typedCopy(type.dtype, data) };
}
