/**
 * Worker thread of {@link WeightKernelPool}: quantizes one weight per message
 * with the pass's own kernel, or hashes bytes, and posts the result back,
 * transferring its buffers. Input floats come as a view on shared memory or
 * are read from their external data file straight into this thread's kernel
 * memory, which is reused from tensor to tensor.
 */
import { createHash } from 'node:crypto';
import { parentPort } from 'node:worker_threads';
import { MlctlError } from '../common/errors.js';
// The kernel's own modules, not the pass's index: a worker that loads only these starts in a fraction of the time.
import { NonFiniteWeightError } from '../passes/quantize/kernel.js';
import { KernelScratch, type FloatSource } from '../passes/quantize/kernel-scratch.js';
import { readExternalRange } from './external-range.js';
import type { PoolTask, PoolTaskResult, WeightBytes } from './kernel-pool.js';

const scratch = new KernelScratch();

function floats(source: WeightBytes): FloatSource {
  if (source.kind === 'shared') return new Uint8Array(source.buffer, source.byteOffset, source.length * 4);
  const { range } = source;
  return { byteLength: range.lengthBytes, read: (target, byteOffset) => readExternalRange(range, target, byteOffset) };
}

function handle(task: PoolTask): { message: PoolTaskResult; transfer: ArrayBuffer[] } {
  if (task.type === 'sha256') {
    const digest = createHash('sha256').update(new Uint8Array(task.buffer, task.byteOffset, task.length)).digest('hex');
    return { message: { id: task.id, digest }, transfer: [] };
  }
  const result = scratch.quantize(floats(task.source), task.dims, task.options, task.transpose);
  const transfer: ArrayBuffer[] = [];
  for (const array of [result.bytes, result.scales, result.zeroPoints]) {
    if (array.buffer instanceof ArrayBuffer && !transfer.includes(array.buffer)) transfer.push(array.buffer);
  }
  return { message: { id: task.id, bytes: result.bytes, scales: result.scales, zeroPoints: result.zeroPoints, sqnrDb: result.sqnrDb }, transfer };
}

parentPort?.on('message', (task: PoolTask) => {
  let answer: { message: PoolTaskResult; transfer: ArrayBuffer[] };
  try {
    answer = handle(task);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    answer = {
      message: { id: task.id, error: message, nonFinite: error instanceof NonFiniteWeightError, code: error instanceof MlctlError ? error.code : undefined },
      transfer: [],
    };
  }
  parentPort?.postMessage(answer.message, answer.transfer);
});
