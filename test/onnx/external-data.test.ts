import { execSync } from 'node:child_process';
import { link, mkdir, mkdtemp, readFile, rm, stat, symlink, truncate, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MlctlError, ModelFormatError, UnsafePathError, FileError } from '../../src/common/errors.js';
import {
  loadExternalDataInline,
  parseExternalDataInfo,
  readExternalData,
  resolveExternalDataPath,
  validateExternalData,
} from '../../src/onnx/external-data.js';
import { loadModel, saveModel, serializeModel } from '../../src/onnx/model-io.js';
import { forEachTensorProto } from '../../src/onnx/tensor-walk.js';
import { AttributeType, DataLocation, DataType, type ModelProto, type TensorProto } from '../../src/onnx/types.js';
import {
  attributeLiteral,
  constantNode,
  externalFloatTensor,
  float32Bytes,
  floatTensor,
  floatValueInfo,
  graphLiteral,
  modelLiteral,
  nodeLiteral,
  ramp,
  sparseLiteral,
  tensorLiteral,
} from '../helpers/proto-literals.js';

let root: string;
/** The model's folder, inside `root`; `root/secret.bin` lies outside it. */
let modelDir: string;

beforeEach(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'mlctl-external-'));
  modelDir = path.join(root, 'model');
  await mkdir(modelDir);
  await writeFile(path.join(root, 'secret.bin'), float32Bytes([1, 2, 3, 4]));
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A model with one initializer `W` of 4 float32 values stored per `entries`. */
function modelWithExternal(entries: Record<string, string>, dims: number[] = [4]): ModelProto {
  return modelLiteral(graphLiteral({
    name: 'main',
    initializer: [externalFloatTensor('W', dims, entries)],
    input: [floatValueInfo('X', dims)],
    output: [floatValueInfo('Y', dims)],
    node: [nodeLiteral('Add', ['X', 'W'], ['Y'])],
  }));
}

/** Writes the model (without touching its external data) and returns its path. */
async function writeModel(model: ModelProto, name = 'model.onnx'): Promise<string> {
  const file = path.join(modelDir, name);
  await writeFile(file, serializeModel(model));
  return file;
}

function firstExternal(model: ModelProto): TensorProto {
  let found: TensorProto | undefined;
  forEachTensorProto(model, (tensor) => {
    if (found === undefined && tensor.dataLocation === DataLocation.EXTERNAL) found = tensor;
  });
  return found!;
}

describe('parseExternalDataInfo', () => {
  it('reads location, offset, length and checksum, with offset 0 and no length by default', () => {
    expect(parseExternalDataInfo(externalFloatTensor('W', [4], { location: 'w.bin' }))).toEqual({
      location: 'w.bin', offset: 0n, length: undefined, checksum: undefined,
    });
    const big = '18446744073709551616';
    expect(parseExternalDataInfo(externalFloatTensor('W', [4], { location: 'w.bin', offset: big, length: '007', checksum: 'abc' }))).toEqual({
      location: 'w.bin', offset: 18446744073709551616n, length: 7n, checksum: 'abc',
    });
  });

  it.each([
    [{ location: 'w.bin', basepath: '/tmp' }, "tensor 'W' has the unknown external data key 'basepath'"],
    [{ location: 'w.bin', '': 'x' }, "tensor 'W' has the unknown external data key ''"],
    [{ offset: '0' }, "tensor 'W' is stored externally but has no external data 'location'"],
  ])('refuses entries %j', (entries, message) => {
    expect(() => parseExternalDataInfo(externalFloatTensor('W', [4], entries))).toThrow(new ModelFormatError(message + (message.includes('unknown') ? '; expected only location, offset, length and checksum' : '')));
  });

  it('refuses a repeated key', () => {
    const tensor = tensorLiteral({ name: 'W', externalData: [{ key: 'location', value: 'a' }, { key: 'location', value: 'b' }], dataLocation: 1 });
    expect(() => parseExternalDataInfo(tensor)).toThrow("tensor 'W' gives the external data key 'location' more than once");
  });

  it.each(['1e3', '-1', '0x10', '', '+1', ' 1', '1.5', '١'])('refuses the offset and the length %j', (value) => {
    for (const key of ['offset', 'length']) {
      const tensor = externalFloatTensor('W', [4], { location: 'w.bin', [key]: value });
      expect(() => parseExternalDataInfo(tensor)).toThrow(ModelFormatError);
      expect(() => parseExternalDataInfo(tensor)).toThrow(`tensor 'W' has external data ${key} '${value}'; expected a non-negative decimal integer`);
    }
  });
});

/** How a location goes wrong: what to set up in the model folder, and the error. */
interface UnsafeCase {
  name: string;
  entries: Record<string, string>;
  setup?: () => Promise<void>;
  error: new (...args: never[]) => Error;
  message: string;
}

const weights = (): Promise<void> => writeFile(path.join(modelDir, 'w.bin'), float32Bytes([5, 6, 7, 8]));

const unsafeCases: UnsafeCase[] = [
  { name: 'a parent-folder path', entries: { location: '../secret.bin' }, error: UnsafePathError,
    message: "external data location '../secret.bin' of tensor 'W' contains a '..' component; external data must stay inside the model's folder" },
  { name: 'a POSIX absolute path', entries: { location: '/etc/passwd' }, error: UnsafePathError,
    message: "external data location '/etc/passwd' of tensor 'W' is an absolute path" },
  { name: 'a path climbing out after a folder', entries: { location: 'a/../../x' }, error: UnsafePathError, message: "contains a '..' component" },
  { name: 'a dotted component Windows may read as ..', entries: { location: '.../x' }, error: UnsafePathError, message: "contains a '..' component" },
  { name: 'a backslash parent path', entries: { location: 'a\\..\\..\\x' }, error: UnsafePathError, message: "contains a '..' component" },
  { name: 'a Windows drive path', entries: { location: 'C:\\x' }, error: UnsafePathError, message: "'C:\\x' of tensor 'W' is an absolute path" },
  { name: 'a Windows drive-relative path', entries: { location: 'C:x' }, error: UnsafePathError, message: 'is an absolute path' },
  { name: 'a UNC path', entries: { location: '\\\\server\\share\\x' }, error: UnsafePathError, message: 'is an absolute path' },
  { name: 'an empty location', entries: { location: '' }, error: UnsafePathError,
    message: "external data location '' of tensor 'W' is empty; expected a file name relative to the model's folder" },
  { name: 'the model folder itself', entries: { location: './' }, error: UnsafePathError, message: "names the model's folder itself" },
  { name: 'a NUL byte', entries: { location: 'w.bin\0.txt' }, setup: weights, error: UnsafePathError,
    message: "external data location 'w.bin\\x00.txt' of tensor 'W' contains a NUL byte" },
  { name: 'a symbolic link to a file outside', entries: { location: 'w.bin' },
    setup: () => symlink(path.join(root, 'secret.bin'), path.join(modelDir, 'w.bin')), error: UnsafePathError,
    message: "external data location 'w.bin' of tensor 'W' is a symbolic link; external data must be a regular file inside the model's folder" },
  { name: 'a symbolic link to a file inside', entries: { location: 'alias.bin' },
    setup: async () => { await weights(); await symlink('w.bin', path.join(modelDir, 'alias.bin')); }, error: UnsafePathError,
    message: "'alias.bin' of tensor 'W' is a symbolic link" },
  { name: 'a symbolic link to a folder on the way', entries: { location: 'sub/secret.bin' },
    setup: () => symlink(root, path.join(modelDir, 'sub')), error: UnsafePathError,
    message: "external data location 'sub/secret.bin' of tensor 'W' passes through the symbolic link 'sub'" },
  { name: 'a hard link', entries: { location: 'w.bin' },
    setup: () => link(path.join(root, 'secret.bin'), path.join(modelDir, 'w.bin')), error: UnsafePathError,
    message: "external data location 'w.bin' of tensor 'W' is a file with 2 hard links" },
  { name: 'a directory', entries: { location: 'w.bin' }, setup: () => mkdir(path.join(modelDir, 'w.bin')), error: UnsafePathError,
    message: "external data location 'w.bin' of tensor 'W' is a directory, not a regular file" },
  { name: 'a FIFO', entries: { location: 'w.bin' }, error: UnsafePathError,
    setup: async () => { execSync(`mkfifo '${path.join(modelDir, 'w.bin')}'`); },
    message: "external data location 'w.bin' of tensor 'W' is a FIFO, not a regular file" },
  { name: 'a length past the end of the file', entries: { location: 'w.bin', offset: '8', length: '16' }, setup: weights, error: UnsafePathError,
    message: "external data location 'w.bin' of tensor 'W' is 16 bytes long, but the tensor's data (offset 8, length 16) runs past its end" },
  { name: 'an offset past the end of the file', entries: { location: 'w.bin', offset: '4096' }, setup: weights, error: UnsafePathError,
    message: '(offset 4096, length 16) runs past its end' },
  { name: 'an offset near 2^64', entries: { location: 'w.bin', offset: '18446744073709551615', length: '16' }, setup: weights, error: UnsafePathError,
    message: 'runs past its end' },
  { name: 'a length that does not match the shape', entries: { location: 'w.bin', length: '12' }, setup: weights, error: ModelFormatError,
    message: "tensor 'W' has 12 bytes of external data, but its shape [4] of float32 needs 16" },
  { name: 'an unknown key', entries: { location: 'w.bin', basepath: '.' }, setup: weights, error: ModelFormatError,
    message: "tensor 'W' has the unknown external data key 'basepath'" },
  { name: 'a bad offset', entries: { location: 'w.bin', offset: '0x10' }, setup: weights, error: ModelFormatError,
    message: "tensor 'W' has external data offset '0x10'; expected a non-negative decimal integer" },
  { name: 'a missing file', entries: { location: 'missing.bin' }, error: FileError,
    message: "cannot read external data file 'missing.bin' of tensor 'W': no such file in" },
];

describe('unsafe or malformed external data', () => {
  it.each(unsafeCases)('refuses $name before reading it', { timeout: 5000 }, async ({ entries, setup, error, message }) => {
    await setup?.();
    const model = modelWithExternal(entries);
    const file = await writeModel(model);
    const tensor = firstExternal(model);
    await expect(loadModel(file)).rejects.toThrow(error);
    await expect(loadModel(file)).rejects.toThrow(message);
    await expect(validateExternalData(model, modelDir)).rejects.toThrow(message);
    await expect(readExternalData(tensor, modelDir)).rejects.toThrow(message);
    const loaded = await loadModel(file, { checkExternalData: false });
    await expect(loadExternalDataInline(loaded)).rejects.toThrow(message);
  });

  it('accepts a model folder reached through a symbolic link, and still refuses a way out of it', async () => {
    // Links above the model folder are the user's own set-up; only links below it are refused.
    const linkedDir = path.join(root, 'linked');
    await symlink(modelDir, linkedDir);
    await weights();
    const model = modelWithExternal({ location: 'w.bin' });
    await expect(readExternalData(firstExternal(model), linkedDir)).resolves.toEqual(float32Bytes([5, 6, 7, 8]));
    await expect(resolveExternalDataPath(linkedDir, '../secret.bin', "tensor 'W'")).rejects.toThrow(UnsafePathError);
  });

  it('applies the rules to a Constant inside an If branch', async () => {
    const leak = externalFloatTensor('', [4], { location: '../secret.bin' });
    const thenBranch = graphLiteral({ name: 'then', node: [constantNode('c', leak, 'leak')], output: [floatValueInfo('c', [4])] });
    const model = modelLiteral(graphLiteral({
      name: 'main',
      input: [{ name: 'cond', type: { tensorType: { elemType: DataType.BOOL, shape: { dim: [] } } }, metadataProps: [] }],
      output: [floatValueInfo('Y', [4])],
      node: [nodeLiteral('If', ['cond'], ['Y'], [
        attributeLiteral('then_branch', AttributeType.GRAPH, { g: thenBranch }),
        attributeLiteral('else_branch', AttributeType.GRAPH, { g: thenBranch }),
      ], 'choose')],
    }));
    const file = await writeModel(model);
    await expect(loadModel(file)).rejects.toThrow(
      "external data location '../secret.bin' of the unnamed tensor at graph 'main' > node 'choose' (If).then_branch > node 'leak' (Constant).value contains a '..' component",
    );
  });

  it("applies the rules to a sparse initializer's values", async () => {
    await symlink(path.join(root, 'secret.bin'), path.join(modelDir, 'v.bin'));
    const values = externalFloatTensor('sparse_values', [4], { location: 'v.bin' });
    const indices = tensorLiteral({ name: 'sparse_indices', dims: [4n], dataType: DataType.INT64, int64Data: [0n, 1n, 2n, 3n] });
    const model = modelLiteral(graphLiteral({ name: 'main', sparseInitializer: [sparseLiteral(values, indices, [8])] }));
    const file = await writeModel(model);
    // loadModel names the model file in front of the external-data error.
    await expect(loadModel(file)).rejects.toThrow(new UnsafePathError(
      `'${file}': external data location 'v.bin' of tensor 'sparse_values' is a symbolic link; external data must be a regular file inside the model's folder`,
    ));
    await expect(loadModel(file)).rejects.toBeInstanceOf(UnsafePathError);
  });
});

describe('reading external data', () => {
  it.each([
    ['int4, 3 elements', DataType.INT4, [3n], 2, undefined],
    ['uint2, 5 elements', DataType.UINT2, [5n], 2, undefined],
    ['complex128, 2×1', DataType.COMPLEX128, [2n, 1n], 32, undefined],
    ['a scalar int64', DataType.INT64, [], 8, undefined],
    ['an unknown data type', 99, [4n], 5, undefined],
    ['a string tensor', DataType.STRING, [1n], 4, "tensor 'T' is a STRING tensor stored externally"],
    ['a negative dimension', DataType.FLOAT, [-1n], 4, "tensor 'T' has the negative dimension -1"],
  ])('sizes %s from its shape', async (_name, dataType, dims, fileBytes, error) => {
    const bytes = Uint8Array.from({ length: fileBytes }, (_, i) => i + 1);
    await writeFile(path.join(modelDir, 't.bin'), bytes);
    const tensor = tensorLiteral({ name: 'T', dims, dataType, externalData: [{ key: 'location', value: 't.bin' }], dataLocation: 1 });
    if (error === undefined) await expect(readExternalData(tensor, modelDir)).resolves.toEqual(bytes);
    else await expect(readExternalData(tensor, modelDir)).rejects.toThrow(new ModelFormatError(error + (dataType === DataType.STRING ? '; strings cannot be stored as raw bytes' : '')));
  });


  it('reads exactly the range of each tensor and lists the files', async () => {
    const data = new Uint8Array(8192 + 16);
    data.set(float32Bytes([1, 2, 3, 4]), 0);
    data.set(float32Bytes([9, 8, 7, 6]), 8192);
    await writeFile(path.join(modelDir, 'weights.bin'), data);
    const a = externalFloatTensor('A', [4], { location: 'weights.bin', length: '16' });
    const b = externalFloatTensor('B', [2, 2], { location: './weights.bin', offset: '8192' });
    const model = modelLiteral(graphLiteral({ name: 'main', initializer: [a, b] }));
    const file = await writeModel(model);

    const loaded = await loadModel(file);
    expect(await validateExternalData(loaded.model, modelDir)).toEqual([
      { location: 'weights.bin', path: path.join(modelDir, 'weights.bin'), tensors: ['A', 'B'], bytes: 32, sizeBytes: 8208 },
    ]);
    expect(await readExternalData(a, loaded.dir)).toEqual(float32Bytes([1, 2, 3, 4]));
    expect(await readExternalData(b, loaded.dir)).toEqual(float32Bytes([9, 8, 7, 6]));

    const inline = await loadExternalDataInline(loaded);
    expect(inline).not.toBe(loaded.model);
    const [inA, inB] = inline.graph!.initializer;
    expect(inA).toMatchObject({ name: 'A', rawData: float32Bytes([1, 2, 3, 4]), externalData: [] });
    expect(inB!.rawData).toEqual(float32Bytes([9, 8, 7, 6]));
    expect('dataLocation' in inB!).toBe(false);
    expect(loaded.model.graph!.initializer[0]!.dataLocation).toBe(DataLocation.EXTERNAL);
  });

  it('needs a folder for a model loaded from bytes, but loads it', async () => {
    await weights();
    const model = modelWithExternal({ location: 'w.bin' });
    const loaded = await loadModel(serializeModel(model));
    const tensor = firstExternal(loaded.model);
    await expect(readExternalData(tensor, loaded.dir)).rejects.toThrow(
      "cannot read the external data of tensor 'W': the model was loaded from bytes, so the folder of its data files is unknown",
    );
    await expect(loadExternalDataInline(loaded)).rejects.toMatchObject({ code: 'MLCTL_BAD_INPUT' });
    const inline = await loadExternalDataInline(loaded, { baseDir: modelDir });
    expect(inline.graph!.initializer[0]!.rawData).toEqual(float32Bytes([5, 6, 7, 8]));
  });

  it('refuses to inline data that would make the model exceed 2 GiB, before reading it', async () => {
    const model = modelWithExternal({ location: 'w.bin', offset: '0', length: String(2 ** 31) }, [2 ** 29]);
    const file = await writeModel(model);
    // A sparse file: 2 GiB long, no blocks used.
    await writeFile(path.join(modelDir, 'w.bin'), '');
    await truncate(path.join(modelDir, 'w.bin'), 2 ** 31);
    const loaded = await loadModel(file);
    await expect(loadExternalDataInline(loaded)).rejects.toMatchObject({ code: 'MLCTL_TOO_LARGE' });
  });
});

/** Y = X·W + B, with B from a Constant node: 32×32 weights (4 KiB) and 32 biases (128 B). */
function matMulAddModel(): ModelProto {
  const size = 32;
  return modelLiteral(graphLiteral({
    name: 'mlp',
    input: [floatValueInfo('X', [2, size])],
    output: [floatValueInfo('Y', [2, size])],
    initializer: [floatTensor('W', [size, size], ramp(size * size, 0.01))],
    node: [
      constantNode('B', floatTensor('B', [size], ramp(size, -0.1)), 'bias'),
      nodeLiteral('MatMul', ['X', 'W'], ['XW'], [], 'matmul'),
      nodeLiteral('Add', ['XW', 'B'], ['Y'], [], 'add'),
    ],
  }));
}

async function runModel(file: string, input: Float32Array): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(file);
  try {
    const result = await session.run({ X: new ort.Tensor('float32', input, [2, 32]) });
    return result.Y!.data as Float32Array;
  } finally {
    await session.release();
  }
}

describe('saving with external data', () => {
  it('moves large tensors to one aligned file, which reloads and reads back the same bytes', async () => {
    const model = matMulAddModel();
    const before = structuredClone(model);
    const target = path.join(modelDir, 'mlp.onnx');
    const result = await saveModel(model, target, { externalData: { location: 'mlp.onnx.data', thresholdBytes: 64 } });
    expect(model).toEqual(before);
    expect(result.externalData).toEqual({ path: path.join(modelDir, 'mlp.onnx.data'), sizeBytes: 4096 + 128, tensorCount: 2 });
    expect((await stat(result.externalData!.path)).size).toBe(4096 + 128);

    const loaded = await loadModel(target);
    const originals = new Map<string, Uint8Array>();
    forEachTensorProto(model, (tensor) => originals.set(tensor.name!, tensor.rawData!));
    const external: string[] = [];
    for (const tensor of [loaded.model.graph!.initializer[0]!, loaded.model.graph!.node[0]!.attribute[0]!.t!]) {
      const info = parseExternalDataInfo(tensor);
      expect(info.location).toBe('mlp.onnx.data');
      expect(Number(info.offset) % 4096).toBe(0);
      expect(tensor.rawData).toBeUndefined();
      expect(await readExternalData(tensor, loaded.dir)).toEqual(originals.get(tensor.name!));
      external.push(`${tensor.name}@${info.offset}+${info.length}`);
    }
    expect(external).toEqual(['W@0+4096', 'B@4096+128']);
  });

  it('keeps tensors under the threshold inline (default 1024 bytes)', async () => {
    const target = path.join(modelDir, 'mlp.onnx');
    await saveModel(matMulAddModel(), target, { externalData: { location: 'mlp.data' } });
    const loaded = await loadModel(target);
    expect(loaded.model.graph!.initializer[0]!.dataLocation).toBe(DataLocation.EXTERNAL);
    expect(loaded.model.graph!.node[0]!.attribute[0]!.t!.rawData).toHaveLength(128);
  });

  it('gives onnxruntime the same outputs as the inline model', async () => {
    const model = matMulAddModel();
    const inlinePath = path.join(modelDir, 'inline.onnx');
    const externalDir = path.join(root, 'external');
    await mkdir(externalDir);
    const externalPath = path.join(externalDir, 'mlp.onnx');
    await saveModel(model, inlinePath);
    await saveModel(model, externalPath, { externalData: { location: 'mlp.onnx.data', thresholdBytes: 64 } });
    expect((await stat(externalPath)).size).toBeLessThan(1024);

    const input = new Float32Array(ramp(64, 0.3));
    const expected = await runModel(inlinePath, input);
    expect(await runModel(externalPath, input)).toEqual(expected);
  });

  it('copies tensors that are already external from sourceDir, and re-inlines to the same model', async () => {
    const model = matMulAddModel();
    const first = path.join(modelDir, 'a.onnx');
    await saveModel(model, first, { externalData: { location: 'a.data', thresholdBytes: 64, alignBytes: 64 } });
    const loaded = await loadModel(first);

    const otherDir = path.join(root, 'copy');
    await mkdir(otherDir);
    const second = path.join(otherDir, 'b.onnx');
    const result = await saveModel(loaded.model, second, { externalData: { location: 'b.data' }, sourceDir: loaded.dir });
    expect(result.externalData?.tensorCount).toBe(2);
    await expect(saveModel(loaded.model, path.join(otherDir, 'c.onnx'), { externalData: { location: 'c.data' } }))
      .rejects.toThrow("cannot save tensor 'W': its data is external and no source folder was given");

    const reloaded = await loadModel(second);
    const inline = await loadExternalDataInline(reloaded);
    expect(serializeModel(inline)).toEqual(serializeModel(model));
    const input = new Float32Array(ramp(64));
    expect(await runModel(second, input)).toEqual(await runModel(path.join(modelDir, 'a.onnx'), input));
  });

  it('writes neither file when the model file exists, and overwrites both with force', async () => {
    const target = path.join(modelDir, 'mlp.onnx');
    await writeFile(target, 'old');
    const options = { externalData: { location: 'mlp.data', thresholdBytes: 64 } };
    await expect(saveModel(matMulAddModel(), target, options)).rejects.toMatchObject({ code: 'MLCTL_OUTPUT_EXISTS' });
    await expect(stat(path.join(modelDir, 'mlp.data'))).rejects.toThrow();
    expect(await readFile(target, 'utf8')).toBe('old');

    await writeFile(path.join(modelDir, 'mlp.data'), 'old data');
    await rm(target);
    await expect(saveModel(matMulAddModel(), target, options)).rejects.toMatchObject({ code: 'MLCTL_OUTPUT_EXISTS' });
    await expect(stat(target)).rejects.toThrow();

    await saveModel(matMulAddModel(), target, { ...options, force: true });
    expect((await loadModel(target)).model.graph!.initializer[0]!.dataLocation).toBe(DataLocation.EXTERNAL);
  });

  it.each([
    ['sub/w.bin', UnsafePathError, "external data location 'sub/w.bin' for"],
    ['../w.bin', UnsafePathError, "contains a '..' component"],
    ['/tmp/w.bin', UnsafePathError, 'is an absolute path'],
    ['', UnsafePathError, 'is empty'],
    ['mlp.onnx', MlctlError, "external data location 'mlp.onnx' is the model file itself"],
  ])('refuses the location %j', async (location, error, message) => {
    const target = path.join(modelDir, 'mlp.onnx');
    const saving = saveModel(matMulAddModel(), target, { externalData: { location } });
    await expect(saving).rejects.toThrow(error);
    await expect(saveModel(matMulAddModel(), target, { externalData: { location } })).rejects.toThrow(message);
    await expect(stat(target)).rejects.toThrow();
  });

  it('refuses a model over 2 GiB without external data, hinting at it', async () => {
    // One lazily zeroed buffer viewed three times: 2.25 GiB planned, little memory touched.
    const shared = new Uint8Array(768 * 1024 * 1024);
    const big = (name: string): TensorProto => tensorLiteral({ name, dims: [BigInt(shared.length / 4)], dataType: DataType.FLOAT, rawData: shared });
    const model = modelLiteral(graphLiteral({ name: 'big', initializer: [big('a'), big('b'), big('c')] }));
    const target = path.join(modelDir, 'big.onnx');
    const saving = saveModel(model, target);
    await expect(saving).rejects.toMatchObject({ code: 'MLCTL_TOO_LARGE', hint: expect.stringMatching(/external data/) });
    await expect(stat(target)).rejects.toThrow();
  });
});
