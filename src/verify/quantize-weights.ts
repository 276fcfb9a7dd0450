/**
 * Loading a model for the quantize job and computing its quantized weights.
 * From 16 MiB of weights on (in the file or in external data), weights are
 * quantized on worker threads: the file is read into shared memory, which
 * the workers read in place; external data is read by the workers
 * themselves, one tensor at a time, so that the float weights are never all
 * in memory at once. The provenance hash of the input is computed from the
 * bytes already read (on a worker when there are workers), not by reading
 * the file again.
 */
import { stat } from 'node:fs/promises';
import { sha256Bytes } from '../common/hash.js';
import { MAX_PROTOBUF_BYTES } from '../onnx/codec.js';
import { loadModel, type LoadedModel } from '../onnx/model-io.js';
import type { ModelProto } from '../onnx/types.js';
import type { ExternalDataReader, WeightKernel } from '../passes/quantize/index.js';
import { externalDataReader, type ExternalTensorReader } from './external-reader.js';
import { precomputeWeights, WeightKernelPool } from './kernel-pool.js';

/** Weights from this many bytes on are quantized on worker threads. */
export const PARALLEL_FROM_BYTES = 16 * 2 ** 20;

/** A loaded model with its weights quantized ahead, where that pays. */
export interface PreparedModel {
  loaded: LoadedModel;
  /** Reads external tensors, one at a time; undefined when the model has none. */
  external: ExternalTensorReader | undefined;
  /** Hands out the weights computed on worker threads; undefined to quantize in this thread. */
  kernel: WeightKernel | undefined;
  /** sha256 (hex) of the input file, when asked for. */
  sourceSha256: string | undefined;
  /** Milliseconds spent reading and decoding the file (the rest went to the weights). */
  loadMs: number;
}

/** Runs the pass with `kernel`, to collect the weights it needs; its result is thrown away. */
export type CollectingRun = (model: ModelProto, kernel: WeightKernel, readExternal: ExternalDataReader | undefined) => unknown;

async function fileSize(file: string): Promise<number> {
  const info = await stat(file).catch(() => undefined);
  return info !== undefined && info.isFile() ? info.size : 0;
}

/**
 * Loads `input` and, for models with enough weights, quantizes the weights
 * that `collect` asks for on worker threads (see the module comment).
 * @param options.hash - also compute the sha256 of the input file.
 * @throws the errors of loadModel and of the external-data checks; errors of
 *   reading external data on a worker come back as thrown by the returned kernel.
 */
export async function prepareModel(input: string, collect: CollectingRun, options: { hash: boolean }): Promise<PreparedModel> {
  const started = performance.now();
  const sizeBytes = await fileSize(input);
  // Started before reading, so that the workers' start-up overlaps the read.
  let pool = sizeBytes >= PARALLEL_FROM_BYTES && sizeBytes <= MAX_PROTOBUF_BYTES ? WeightKernelPool.create() : undefined;
  try {
    const loaded = await loadModel(input, pool === undefined ? {} : { sharedMemory: true });
    const loadMs = performance.now() - started;
    let hashing: Promise<string> | undefined;
    if (options.hash) {
      // Queued ahead of the weights, so that one worker hashes while the others quantize.
      hashing = pool !== undefined ? pool.sha256(loaded.bytes) : Promise.resolve(sha256Bytes(loaded.bytes));
      hashing.catch(() => undefined);
    }
    const external = await externalDataReader(loaded.model, loaded.dir);
    if (pool === undefined && external !== undefined && external.totalBytes >= PARALLEL_FROM_BYTES) pool = WeightKernelPool.create();
    const kernel = pool === undefined ? undefined : await precomputeWeights(pool, (collecting) => collect(loaded.model, collecting, external?.read), external?.locate);
    return { loaded, external, kernel, sourceSha256: await hashing, loadMs };
  } finally {
    // Not awaited: the workers' teardown (unmapping their memory) overlaps the rest of the job.
    pool?.close().catch(() => undefined);
  }
}
