/**
 * Load benchmark of `mlctl serve` (issue 8's "Must show"): a tiny and a
 * medium model at concurrency 1, 4, 16 and 64, JSON and binary tensors, with
 * and without dynamic batching, against the same models' in-process
 * `session.run` throughput measured in the same run, and a naive node:http
 * V2 server as the baseline. Then a hot reload and a SIGTERM under load,
 * which must lose no accepted request. The load client (src/serve/load-client)
 * runs in this process, on the same machine as the server.
 *
 * Usage: npx tsx benchmarks/serve-load.bench.ts [--duration 1000] [--warmup 300] [--rounds 3] [--json out.json]
 * (the medium model's cells run twice as long; each cell reports the median of its rounds)
 * Needs `npm run build` first (the server is the built CLI, spawned as users run it).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFile, mkdir, open, rename, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { percentileOfSorted } from '../src/bench/percentiles.js';
import { createSession } from '../src/runtime/onnxruntime.js';
import { randomInputs } from '../src/runtime/random-inputs.js';
import { prepareRequest } from '../src/serve/load-client/endpoint.js';
import { closeTarget, createTarget } from '../src/serve/load-client/http-client.js';
import { driveLevel, type LevelSamples } from '../src/serve/load-client/load-driver.js';
import { tinyModel, writeServeModels } from './serve-models.js';
import { saveModel } from '../src/onnx/model-io.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dataDir = path.join(repoRoot, 'benchmarks/.data/serve');
const { values: args } = parseArgs({ options: { duration: { type: 'string', default: '1000' }, warmup: { type: 'string', default: '300' }, rounds: { type: 'string', default: '3' }, json: { type: 'string' } } });
const durationMs = Number(args.duration);
const warmupMs = Number(args.warmup);
const levels = [1, 4, 16, 64];
const rounds = Number(args.rounds);

interface Server {
  url: string;
  child: ChildProcess;
  logFile: string;
}

async function startProcess(command: string[], logName: string): Promise<Server> {
  const logFile = path.join(dataDir, `${logName}.log`);
  const log = await open(logFile, 'w');
  const child = spawn(process.execPath, command, { cwd: repoRoot, stdio: ['ignore', 'pipe', log.fd] });
  const url = await new Promise<string>((resolve, reject) => {
    let stdout = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const line = stdout.split('\n').find((text) => text.includes('"ready"'));
      if (line !== undefined) resolve((JSON.parse(line) as { url: string }).url);
    });
    child.on('exit', (code) => reject(new Error(`${command.join(' ')} exited with ${code}; see ${logFile}`)));
  });
  await log.close();
  return { url, child, logFile };
}

function startServe(repository: string, flags: string[], logName: string): Promise<Server> {
  return startProcess([path.join(repoRoot, 'bin/mlctl.js'), 'serve', repository, '--port', '0', '--log-format', 'json', ...flags], logName);
}

async function stop(server: Server, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
  const exited = new Promise<number | null>((resolve) => server.child.on('exit', (code) => resolve(code)));
  server.child.kill(signal);
  const timer = setTimeout(() => server.child.kill('SIGKILL'), 30_000);
  const code = await exited;
  clearTimeout(timer);
  return code;
}

interface Measured {
  throughput: number;
  p50Ms: number;
  p99Ms: number;
  failures: number;
  requests: number;
}

function summarize(level: LevelSamples): Measured {
  const sorted = Float64Array.from(level.samplesMs).sort();
  return {
    throughput: level.samplesMs.length / (level.durationMs / 1000),
    p50Ms: sorted.length === 0 ? Number.NaN : percentileOfSorted(sorted, 50),
    p99Ms: sorted.length === 0 ? Number.NaN : percentileOfSorted(sorted, 99),
    failures: Object.values(level.failures).reduce((sum, count) => sum + count, 0),
    requests: level.requests,
  };
}

async function drive(url: string, model: string, binary: boolean, concurrency: number, duration = durationMs): Promise<LevelSamples> {
  const target = createTarget(url, concurrency, undefined);
  try {
    const prepared = await prepareRequest(target, { model, binary, shapes: {}, seed: 0 });
    return await driveLevel(target, prepared, concurrency, { warmupMs, durationMs: duration, requestTimeoutMs: 60_000 });
  } finally {
    closeTarget(target);
  }
}

/** Sequential batch-1 session.run throughput and p50 in this process, as the reference. */
async function inProcess(file: string, seconds: number): Promise<{ throughput: number; p50Ms: number }> {
  const session = await createSession(file);
  try {
    const feeds = randomInputs(session.inputs, { defaultDim: 1 });
    const warmEnd = performance.now() + warmupMs;
    while (performance.now() < warmEnd) await session.run(feeds);
    const samples: number[] = [];
    const end = performance.now() + seconds * 1000;
    const start = performance.now();
    while (performance.now() < end) {
      const t = performance.now();
      await session.run(feeds);
      samples.push(performance.now() - t);
    }
    const elapsed = performance.now() - start;
    return { throughput: samples.length / (elapsed / 1000), p50Ms: percentileOfSorted(Float64Array.from(samples).sort(), 50) };
  } finally {
    await session.release();
  }
}

const results: Record<string, unknown> = { machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version }, durationMs, warmupMs, rounds };
const rows: string[] = [];
const verdicts: string[] = [];
function verdict(name: string, ok: boolean, detail: string): void {
  verdicts.push(`| ${name} | ${detail} | ${ok ? 'pass' : '**fail**'} |`);
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? Number.NaN : sorted[Math.floor((sorted.length - 1) / 2)]!;
}

/** The median round (by throughput) of one cell, with the failures of all its rounds. */
function medianRound(measures: readonly Measured[]): Measured {
  const sorted = [...measures].sort((a, b) => a.throughput - b.throughput);
  const middle = sorted[Math.floor((sorted.length - 1) / 2)]!;
  return { ...middle, failures: measures.reduce((sum, m) => sum + m.failures, 0), requests: measures.reduce((sum, m) => sum + m.requests, 0) };
}

await mkdir(dataDir, { recursive: true });
const repository = path.join(dataDir, 'repo');
const files = await writeServeModels(repository);

// Every server runs for the whole matrix, and each cell is measured round by round across all of
// them (and the in-process reference), so a busy spell on this shared machine hits every variant alike.
const servers: { name: string; server: Server; models: readonly string[] }[] = [
  { name: 'no batching', server: await startServe(repository, [], 'serve-no-batching'), models: ['tiny', 'medium'] },
  { name: 'batching, max 4', server: await startServe(repository, ['--max-batch-size', '4'], 'serve-batch-4'), models: ['tiny', 'medium'] },
  { name: 'batching, max 64', server: await startServe(repository, ['--max-batch-size', '64'], 'serve-batch-64'), models: ['tiny', 'medium'] },
  { name: 'naive node:http', server: await startProcess(['--import', 'tsx', path.join(repoRoot, 'benchmarks/serve-naive-server.ts'), files.tiny, 'tiny'], 'naive'), models: ['tiny'] },
];

const served: Record<string, Measured> = {};
const inProcessRounds: Record<string, { throughput: number; p50Ms: number }[]> = { tiny: [], medium: [] };
for (const model of ['tiny', 'medium'] as const) {
  const cellDurationMs = model === 'medium' ? 2 * durationMs : durationMs;
  for (const binary of [false, true]) {
    for (const concurrency of levels) {
      const encoding = binary ? 'binary' : 'json';
      const measures = new Map<string, Measured[]>();
      for (let round = 0; round < rounds; round++) {
        if (concurrency === 16 || concurrency === 1) inProcessRounds[model]!.push(await inProcess(files[model], cellDurationMs / 1000));
        for (const { name, server, models } of servers) {
          if (!models.includes(model) || (name.startsWith('naive') && concurrency !== 1 && concurrency !== 16)) continue;
          console.error(`${model} ${encoding} c${concurrency} round ${round + 1}: ${name}…`);
          const measured = summarize(await drive(server.url, model, binary, concurrency, cellDurationMs));
          measures.set(name, [...(measures.get(name) ?? []), measured]);
        }
      }
      for (const [name, list] of measures) {
        const measured = medianRound(list);
        served[`${name}|${model}|${encoding}|${concurrency}`] = measured;
        rows.push(`| ${model} | ${name} | ${binary ? 'binary' : 'JSON'} | ${concurrency} | ${measured.throughput.toFixed(model === 'medium' ? 1 : 0)} | ${measured.p50Ms.toFixed(2)} | ${measured.p99Ms.toFixed(2)} | ${measured.failures} / ${measured.requests} |`);
      }
    }
  }
}
for (const { name, server } of servers) {
  const code = await stop(server);
  if (code !== 0 && !name.startsWith('naive')) throw new Error(`mlctl serve (${name}) exited with ${code} on SIGTERM`);
}
const reference = {
  tiny: { throughput: median(inProcessRounds['tiny']!.map((r) => r.throughput)), p50Ms: median(inProcessRounds['tiny']!.map((r) => r.p50Ms)) },
  medium: { throughput: median(inProcessRounds['medium']!.map((r) => r.throughput)), p50Ms: median(inProcessRounds['medium']!.map((r) => r.p50Ms)) },
};

console.error('hot reload under load…');
const watchRepo = path.join(dataDir, 'watch-repo');
await mkdir(path.join(watchRepo, 'tiny', '1'), { recursive: true });
const watchFile = path.join(watchRepo, 'tiny', '1', 'model.onnx');
await copyFile(files.tiny, watchFile);
const watched = await startServe(watchRepo, ['--watch', '--watch-interval-ms', '200', '--max-batch-size', '64'], 'serve-watch');
const reloadLoad = drive(watched.url, 'tiny', true, 16, 4000);
await new Promise((resolve) => setTimeout(resolve, warmupMs + 1000));
await saveModel(tinyModel(), `${watchFile}.next`, { force: true });
await rename(`${watchFile}.next`, watchFile);
const reload = summarize(await reloadLoad);
await stop(watched);
const reloadLog = await import('node:fs/promises').then((fs) => fs.readFile(watched.logFile, 'utf8'));
const reloaded = reloadLog.includes('"event":"model-reloaded"');

console.error('SIGTERM under load…');
const draining = await startServe(repository, ['--max-batch-size', '64'], 'serve-drain');
const drainTarget = createTarget(draining.url, 16, undefined);
const drainRequest = await prepareRequest(drainTarget, { model: 'tiny', binary: false, shapes: {}, seed: 0 });
const drainLoad = driveLevel(drainTarget, drainRequest, 16, { warmupMs: 0, durationMs: 3000, requestTimeoutMs: 60_000 });
await new Promise((resolve) => setTimeout(resolve, 1000));
const drainExit = stop(draining);
const drained = await drainLoad;
closeTarget(drainTarget);
const drainCode = await drainExit;
const drainLog = (await import('node:fs/promises').then((fs) => fs.readFile(draining.logFile, 'utf8'))).split('\n').filter((line) => line.includes('"event":"request"') && line.includes('/infer'));
const serverOk = drainLog.filter((line) => line.includes('"status":200')).length;
const serverOther = drainLog.filter((line) => !line.includes('"status":200') && !line.includes('"status":503')).length;
const clientOk = drained.samplesMs.length + drained.warmupSamplesMs.length;
const client503 = drained.failures['HTTP 503'] ?? 0;
const clientNetwork = Object.entries(drained.failures).filter(([kind]) => !kind.startsWith('HTTP')).reduce((sum, [, count]) => sum + count, 0);

const cell = (config: string, model: string, encoding: string, concurrency = 16): Measured => served[`${config}|${model}|${encoding}|${concurrency}`]!;
const mlctlFailures = Object.entries(served).filter(([key]) => !key.startsWith('naive')).reduce((sum, [, m]) => sum + m.failures, 0);
verdict('zero failed requests, every level', mlctlFailures === 0, `${mlctlFailures} failed`);
const mediumBest = Math.max(...['batching, max 4', 'batching, max 64'].flatMap((config) => ['binary', 'json'].map((encoding) => cell(config, 'medium', encoding).throughput)));
verdict('medium, batching, c16 ≥ 0.8× in-process', mediumBest >= 0.8 * reference.medium.throughput,
  `${mediumBest.toFixed(1)}/s vs in-process ${reference.medium.throughput.toFixed(1)}/s (${(mediumBest / reference.medium.throughput).toFixed(2)}×); batching max 4 binary ${cell('batching, max 4', 'medium', 'binary').throughput.toFixed(1)}/s, no batching binary ${cell('no batching', 'medium', 'binary').throughput.toFixed(1)}/s`);
for (const [encoding, goal] of [['binary', 3000], ['json', 2000]] as const) {
  const best = Math.max(...['no batching', 'batching, max 4', 'batching, max 64'].map((config) => cell(config, 'tiny', encoding).throughput));
  verdict(`tiny, ${encoding}, c16 ≥ ${goal}/s`, best >= goal,
    `${best.toFixed(0)}/s (no batching ${cell('no batching', 'tiny', encoding).throughput.toFixed(0)}/s; naive node:http ${cell('naive node:http', 'tiny', encoding).throughput.toFixed(0)}/s)`);
}
const overhead = cell('no batching', 'tiny', 'binary', 1).p50Ms - reference.tiny.p50Ms;
verdict('HTTP overhead at p50 ≤ 1 ms (tiny, binary, c1)', overhead <= 1, `${cell('no batching', 'tiny', 'binary', 1).p50Ms.toFixed(3)} ms served − ${reference.tiny.p50Ms.toFixed(3)} ms in-process = ${overhead.toFixed(3)} ms`);
const overheadJson = cell('no batching', 'tiny', 'json', 1).p50Ms - reference.tiny.p50Ms;
verdict('HTTP overhead at p50 ≤ 1 ms (tiny, JSON, c1)', overheadJson <= 1, `${cell('no batching', 'tiny', 'json', 1).p50Ms.toFixed(3)} ms served − ${reference.tiny.p50Ms.toFixed(3)} ms in-process = ${overheadJson.toFixed(3)} ms`);
verdict('hot reload under load loses nothing', reloaded && reload.failures === 0, `${reload.requests} requests at c16, ${reload.failures} failed, reload ${reloaded ? 'done' : 'missing'}`);
verdict('SIGTERM under load loses no accepted request', drainCode === 0 && clientOk === serverOk && serverOther === 0,
  `exit ${drainCode}; 200s: client ${clientOk} = server log ${serverOk}; 503 after SIGTERM: ${client503}; refused connections after close: ${clientNetwork}`);

const report = [
  `Machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, Node ${process.version}; ${durationMs} ms per level after ${warmupMs} ms warm-up; load client in the same machine.`,
  '',
  `In-process \`session.run\` (batch 1, sequential, median of ${inProcessRounds['tiny']!.length} and ${inProcessRounds['medium']!.length} rounds interleaved with the served ones): tiny ${reference.tiny.throughput.toFixed(0)}/s (p50 ${reference.tiny.p50Ms.toFixed(3)} ms); medium ${reference.medium.throughput.toFixed(1)}/s (p50 ${reference.medium.p50Ms.toFixed(1)} ms).`,
  '',
  '| model | server | tensors | concurrency | requests/s | p50 ms | p99 ms | failed / sent |',
  '|---|---|---|---:|---:|---:|---:|---:|',
  ...rows,
  '',
  '| goal | measured | verdict |',
  '|---|---|---|',
  ...verdicts,
].join('\n');
console.log(report);
results['reference'] = { ...reference, rounds: inProcessRounds };
results['served'] = served;
results['reload'] = { ...reload, reloaded };
results['drain'] = { exitCode: drainCode, clientOk, serverOk, serverOther, client503, clientNetwork };
if (args.json !== undefined) await writeFile(args.json, JSON.stringify(results, null, 2));
