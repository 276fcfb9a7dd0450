/**
 * Spawns the built CLI's `mlctl serve` exactly as a user (or a CI script)
 * would: `node bin/mlctl.js serve <target> --port 0 --log-format json`,
 * waits for the ready line on stdout, and stops it with a signal.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { cliEntry, repoRoot } from '../../helpers/paths.js';

/** A running server. */
export interface ServerProcess {
  url: string;
  child: ChildProcessWithoutNullStreams;
  /** Everything written to stdout and stderr so far. */
  stdout(): string;
  stderr(): string;
  /** The JSON log events on stderr so far. */
  events(): Record<string, unknown>[];
  /** Resolves with the exit code (null when killed) once the process has exited. */
  exited: Promise<number | null>;
  /** Sends a signal and waits for the exit (SIGKILL after `timeoutMs`). */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | null>;
}

export interface StartOptions {
  env?: Record<string, string>;
  /** How long to wait for the ready line (default 30 s). */
  readyTimeoutMs?: number;
  /** Resolve at the `listening` log event instead of the ready line (url from that event). */
  untilListening?: boolean;
}

/** Starts `mlctl serve <args...>` and resolves when it is ready (or listening). */
export function startServer(args: readonly string[], options: StartOptions = {}): Promise<ServerProcess> {
  const child = spawn(process.execPath, [cliEntry, 'serve', ...args], {
    cwd: repoRoot,
    env: { ...process.env, CI: '1', NO_COLOR: '1', ...options.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString('utf8'); });
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString('utf8'); });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const events = (): Record<string, unknown>[] => stderr.split('\n').filter((line) => line.startsWith('{')).flatMap((line) => {
    try {
      return [JSON.parse(line) as Record<string, unknown>];
    } catch {
      return [];
    }
  });
  const server = (url: string): ServerProcess => ({
    url,
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    events,
    exited,
    async stop(signal = 'SIGTERM', timeoutMs = 20_000) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  });
  return new Promise((resolve, reject) => {
    const deadline = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`mlctl serve ${args.join(' ')} was not ready within ${options.readyTimeoutMs ?? 60_000} ms; stderr:\n${stderr}`));
    }, options.readyTimeoutMs ?? 60_000);
    const check = (): void => {
      if (options.untilListening === true) {
        const listening = events().find((event) => event['event'] === 'listening');
        if (listening !== undefined) {
          clearTimeout(deadline);
          resolve(server(String(listening['url'])));
        }
        return;
      }
      // `{"event":"ready","url":...}` with --log-format json, `ready <url>` with pretty.
      const line = stdout.split('\n').find((text) => text.includes('"ready"') || text.startsWith('ready '));
      if (line !== undefined) {
        clearTimeout(deadline);
        resolve(server(line.startsWith('{') ? (JSON.parse(line) as { url: string }).url : line.slice('ready '.length).trim()));
      }
    };
    child.stdout.on('data', check);
    child.stderr.on('data', check);
    void exited.then((code) => {
      clearTimeout(deadline);
      reject(new Error(`mlctl serve exited with ${code} before it was ready; stderr:\n${stderr}`));
    });
  });
}
