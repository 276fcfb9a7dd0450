/**
 * Worker thread of {@link WeightKernelPool}: quantizes one weight per message
 * with the pass's own kernel and posts the result back, transferring its
 * buffers. The input floats come as a view on shared memory.
 */
import { parentPort } from 'node:worker_threads';
import { NonFiniteWeightError, quantizeAndLayOut } from '../passes/quantize/index.js';
import type { KernelTask, KernelTaskResult } from './kernel-pool.js';

function floats(task: KernelTask): Float32Array {
  // Typed arrays cannot start at an unaligned offset: copy those (in this thread, not the main one).
  if (task.byteOffset % 4 === 0) return new Float32Array(task.buffer, task.byteOffset, task.length);
  const copy = new Uint8Array(task.length * 4);
  copy.set(new Uint8Array(task.buffer, task.byteOffset, task.length * 4));
  return new Float32Array(copy.buffer);
}

parentPort?.on('message', (task: KernelTask) => {
  let message: KernelTaskResult;
  const transfer: ArrayBuffer[] = [];
  try {
    const result = quantizeAndLayOut(floats(task), task.dims, task.options, task.transpose);
    message = { id: task.id, bytes: result.bytes, scales: result.scales, zeroPoints: result.zeroPoints, sqnrDb: result.sqnrDb };
    for (const array of [result.bytes, result.scales, result.zeroPoints]) {
      if (array.buffer instanceof ArrayBuffer && !transfer.includes(array.buffer)) transfer.push(array.buffer);
    }
  } catch (error) {
    message = { id: task.id, error: error instanceof Error ? error.message : String(error), nonFinite: error instanceof NonFiniteWeightError };
  }
  parentPort?.postMessage(message, transfer);
});
