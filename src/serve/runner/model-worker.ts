/**
 * Entry point of a model's worker thread: creates the runtime session named
 * in `workerData`, then runs whatever the main thread sends, one request at a
 * time. Only the runtime adapter touches onnxruntime; this file only relays.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { MlctlError, describeError } from '../../common/errors.js';
import { createSession } from '../../runtime/onnxruntime.js';
import type { RuntimeSession, TensorData } from '../../runtime/types.js';
import type { FromWorker, SerializedError, ToWorker, WorkerInit } from './messages.js';

function serialize(error: unknown): SerializedError {
  if (error instanceof MlctlError) return { code: error.code, message: error.message, hint: error.hint };
  return { code: undefined, message: describeError(error), hint: undefined };
}

function now(): number {
  return Number(process.hrtime.bigint());
}

/** Buffers a result's typed arrays can hand over without a copy: only those they span entirely. */
function transferable(data: TensorData): ArrayBuffer[] {
  if (Array.isArray(data)) return [];
  const view = data as Exclude<TensorData, string[]>;
  const buffer = view.buffer;
  return buffer instanceof ArrayBuffer && view.byteOffset === 0 && view.byteLength === buffer.byteLength ? [buffer] : [];
}

async function main(): Promise<void> {
  const port = parentPort;
  if (port === null) throw new Error('model-worker.js must run as a worker thread');
  const init = workerData as WorkerInit;
  const send = (message: FromWorker, transfer: ArrayBuffer[] = []): void => port.postMessage(message, transfer);

  let session: RuntimeSession;
  try {
    session = await createSession(init.modelPath, init.options);
  } catch (error) {
    send({ kind: 'load-failed', error: serialize(error) });
    port.close();
    return;
  }
  send({ kind: 'loaded', inputs: session.inputs, outputs: session.outputs });

  port.on('message', (message: ToWorker) => {
    if (message.kind === 'release') {
      void session.release().finally(() => {
        send({ kind: 'released' });
        port.close();
      });
      return;
    }
    const startNs = now();
    session.run(message.feeds, message.outputNames).then(
      (outputs) => {
        const endNs = now();
        // Output memory may belong to the runtime; copy what cannot be handed over whole.
        const transfer = Object.values(outputs).flatMap((tensor) => transferable(tensor.data));
        try {
          send({ kind: 'result', id: message.id, outputs, startNs, endNs }, transfer);
        } catch {
          send({ kind: 'result', id: message.id, outputs, startNs, endNs });
        }
      },
      (error: unknown) => send({ kind: 'failed', id: message.id, error: serialize(error) }),
    );
  });
}

await main();
