/**
 * `mlctl serve` as a command: usage errors (exit 2), models it cannot serve
 * (exit 3 or 4, one `mlctl: error:` line naming the file), SIGINT.
 */
import net from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/paths.js';
import { runCli } from '../helpers/run-cli.js';
import { request } from './helpers/http.js';
import { startServer } from './helpers/server.js';

const mlp = path.join(repoRoot, 'fixtures/models/mlp.onnx');

describe('mlctl serve (command line)', () => {
  it('--help lists the options', async () => {
    const result = await runCli(['serve', '--help']);
    expect(result.exitCode).toBe(0);
    for (const flag of ['--host', '--port', '--ep', '--threads', '--max-batch-size', '--batch-delay-ms', '--max-queue', '--timeout-ms', '--api-key', '--tls-cert', '--tls-key', '--cors', '--watch', '--body-limit', '--log-format', '--drain-timeout']) {
      expect(result.stdout).toContain(flag);
    }
  });

  it.each([
    [['--tls-cert', 'cert.pem'], '--tls-cert and --tls-key go together; give both PEM files or neither'],
    [['--port', '70000'], '--port 70000 is not a TCP port; expected 0 to 65535'],
    [['--port', 'x'], "--port 'x' is not an integer of at least 0"],
    [['--body-limit', 'lots'], "--body-limit 'lots' is not a size; expected bytes, optionally with a unit (k, m, g), e.g. 64m"],
    [['--max-batch-size', '0'], "--max-batch-size '0' is not an integer of at least 1"],
    [['--log-format', 'xml'], "option '--log-format <format>' argument 'xml' is invalid. Allowed choices are json, pretty."],
  ])('usage error %j exits 2', async (args, message) => {
    const result = await runCli(['serve', mlp, ...args]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr.split('\n')[0]).toBe(`mlctl: error: ${message}`);
    expect(result.stdout).toBe('');
  });

  it('a missing model exits 3 naming it', async () => {
    const result = await runCli(['serve', 'no-such-model.onnx', '--port', '0']);
    expect(result.exitCode).toBe(3);
    expect(result.stderr).toMatch(/^mlctl: error: cannot read model repository 'no-such-model.onnx': ENOENT/);
  });

  it('a file that is not a model exits 4 naming it, without a ready line', async () => {
    const result = await runCli(['serve', path.join(repoRoot, 'fixtures/bad/text.onnx'), '--port', '0', '--log-format', 'json']);
    expect(result.exitCode).toBe(4);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/mlctl: error: onnxruntime cannot load '.*text\.onnx'/);
  });

  it('an execution provider the installed runtime lacks exits 4 with the install hint, never falling back to the CPU', async () => {
    const result = await runCli(['serve', mlp, '--port', '0', '--ep', 'cuda', '--log-format', 'json']);
    expect(result.exitCode).toBe(4);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^mlctl: error: cannot run '.*mlp\.onnx' on execution provider 'cuda': /m);
    expect(result.stderr).toMatch(/^mlctl: hint: /m);
  });

  it('a taken port exits 3 with a hint', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const result = await runCli(['serve', mlp, '--port', String(port)]);
      expect(result.exitCode).toBe(3);
      expect(result.stderr).toContain(`mlctl: error: cannot listen on 127.0.0.1:${port}: `);
      expect(result.stderr).toContain('mlctl: hint: pick another --port (0 picks a free one)');
    } finally {
      blocker.close();
    }
  });

  it('serves a single file as its stem, pretty logs by request, and SIGINT exits 0', async () => {
    const server = await startServer([mlp, '--port', '0', '--log-format', 'pretty']);
    expect(server.stdout()).toBe(`ready ${server.url}\n`);
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const metadata = await request(`${server.url}/v2/models/mlp`);
    expect(metadata.json).toMatchObject({ name: 'mlp', versions: ['1'], inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 64] }] });
    expect(await server.stop('SIGINT')).toBe(0);
    expect(server.stderr()).toMatch(/INFO {2}model-loaded model=mlp version=1/);
  });
});
