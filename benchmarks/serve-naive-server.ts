/**
 * The baseline of the serve load benchmark: the V2 inference route as a naive
 * node:http server would write it (parse the JSON, run onnxruntime on the
 * event loop, JSON.stringify the outputs; binary tensors via Triton's
 * extension without further care). Not part of mlctl.
 *
 * Usage: npx tsx benchmarks/serve-naive-server.ts <model.onnx> <name>
 * Prints `{"event":"ready","url":...}` on stdout when listening.
 */
import http from 'node:http';
import { createSession } from '../src/runtime/onnxruntime.js';
import type { HostTensor } from '../src/runtime/types.js';

const [modelPath, name] = process.argv.slice(2);
if (modelPath === undefined || name === undefined) throw new Error('usage: serve-naive-server.ts <model.onnx> <name>');
const session = await createSession(modelPath);

const server = http.createServer((request, response) => {
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => {
    void (async () => {
      try {
        const body = Buffer.concat(chunks);
        if (request.method === 'GET') {
          const meta = (t: { name: string; shape: (number | string | null)[] }): object => ({ name: t.name, datatype: 'FP32', shape: t.shape.map((d) => (typeof d === 'number' ? d : -1)) });
          response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ name, platform: 'onnx_onnxv1', inputs: session.inputs.map(meta), outputs: session.outputs.map(meta) }));
          return;
        }
        const headerLength = request.headers['inference-header-content-length'];
        const json = JSON.parse(body.subarray(0, headerLength === undefined ? body.length : Number(headerLength)).toString()) as {
          inputs: { name: string; shape: number[]; data?: number[]; parameters?: { binary_data_size: number } }[];
        };
        const feeds: Record<string, HostTensor> = {};
        let offset = headerLength === undefined ? body.length : Number(headerLength);
        for (const input of json.inputs) {
          if (input.parameters?.binary_data_size !== undefined) {
            const size = input.parameters.binary_data_size;
            const data = new Float32Array(body.buffer.slice(body.byteOffset + offset, body.byteOffset + offset + size));
            offset += size;
            feeds[input.name] = { dtype: 'float32', dims: input.shape, data };
          } else {
            feeds[input.name] = { dtype: 'float32', dims: input.shape, data: Float32Array.from(input.data!) };
          }
        }
        const outputs = await session.run(feeds);
        if (headerLength === undefined) {
          response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({
            model_name: name,
            outputs: Object.entries(outputs).map(([output, tensor]) => ({ name: output, datatype: 'FP32', shape: tensor.dims, data: Array.from(tensor.data as Float32Array) })),
          }));
        } else {
          const tensors = Object.entries(outputs);
          const header = Buffer.from(JSON.stringify({
            model_name: name,
            outputs: tensors.map(([output, tensor]) => ({ name: output, datatype: 'FP32', shape: tensor.dims, parameters: { binary_data_size: (tensor.data as Float32Array).byteLength } })),
          }));
          const binaries = tensors.map(([, tensor]) => Buffer.from((tensor.data as Float32Array).buffer, (tensor.data as Float32Array).byteOffset, (tensor.data as Float32Array).byteLength));
          response.writeHead(200, { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(header.length) }).end(Buffer.concat([header, ...binaries]));
        }
      } catch (error) {
        response.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: String(error) }));
      }
    })();
  });
});
server.listen(0, '127.0.0.1', () => {
  const address = server.address() as { port: number };
  process.stdout.write(`${JSON.stringify({ event: 'ready', url: `http://127.0.0.1:${address.port}` })}\n`);
});
process.on('SIGTERM', () => server.close(() => void session.release()));
