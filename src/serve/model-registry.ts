/**
 * The loaded models: every version of every model, each with its worker,
 * scheduler and statistics. Loading creates the session in a worker and warms
 * it with a dummy run before it takes traffic; replacing a version (hot
 * reload) swaps the new instance in at once and retires the old one after
 * the requests it already holds have finished.
 */
import { describeError } from '../common/errors.js';
import { randomInputs } from '../runtime/random-inputs.js';
import type { SessionOptions } from '../runtime/types.js';
import { badRequest, notFound, unavailable } from './http-error.js';
import type { Logger } from './logger.js';
import { modelSignature, type ModelSignature } from './model-signature.js';
import { isValidModelName, type ModelSource } from './repository.js';
import { startWorkerRunner, type ModelRunner } from './runner/worker-runner.js';
import { Scheduler, type SchedulerOptions } from './scheduler.js';
import { ModelStats } from './stats.js';

/** The KServe V2 platform name of ONNX models. */
export const ONNX_PLATFORM = 'onnx_onnxv1';

/** One loaded model version. */
export class ModelInstance {
  readonly name: string;
  readonly version: number;
  readonly file: string;
  readonly signature: ModelSignature;
  readonly runner: ModelRunner;
  readonly scheduler: Scheduler;
  readonly stats: ModelStats;
  /** Why it cannot serve (its worker died), or undefined while it can. */
  failure: string | undefined;

  constructor(source: ModelSource, signature: ModelSignature, runner: ModelRunner, scheduler: Scheduler, stats: ModelStats) {
    this.name = source.name;
    this.version = source.version;
    this.file = source.file;
    this.signature = signature;
    this.runner = runner;
    this.scheduler = scheduler;
    this.stats = stats;
  }

  /** "model 'mlp' version 2", for messages. */
  get label(): string {
    return modelLabel(this.name, this.version);
  }
}

/** "model 'mlp' version 2". */
export function modelLabel(name: string, version: number): string {
  return `model '${name}' version ${version}`;
}

/** How models are loaded and scheduled. */
export interface RegistryOptions {
  session: SessionOptions;
  scheduler: SchedulerOptions;
}

const VERSION_TEXT = /^[1-9][0-9]{0,8}$/;

/** See the module comment. */
export class ModelRegistry {
  readonly #options: RegistryOptions;
  readonly #logger: Logger;
  readonly #models = new Map<string, Map<number, ModelInstance>>();
  readonly #stats = new Map<string, ModelStats>();
  /** Versions announced but not loaded yet (initial load), by model name. */
  readonly #expected = new Map<string, Set<number>>();
  readonly #retiring = new Set<Promise<void>>();
  /** Aborted by abandonLoads(): loads in progress give up. */
  readonly #loads = new AbortController();

  constructor(options: RegistryOptions, logger: Logger) {
    this.#options = options;
    this.#logger = logger;
  }

  /** Announces versions that will be loaded, so requests for them get 503 (loading) rather than 404. */
  expect(sources: readonly ModelSource[]): void {
    for (const source of sources) {
      const versions = this.#expected.get(source.name) ?? new Set<number>();
      versions.add(source.version);
      this.#expected.set(source.name, versions);
    }
  }

  /** True when every announced version is loaded and none has failed. */
  get ready(): boolean {
    if ([...this.#expected.values()].some((versions) => versions.size > 0)) return false;
    return this.#models.size > 0 && this.instances().every((instance) => instance.failure === undefined);
  }

  /** Every loaded instance, sorted by name and version. */
  instances(): ModelInstance[] {
    return [...this.#models.keys()].sort().flatMap((name) => this.versionsOf(name));
  }

  /** The loaded versions of a model, ascending. */
  versionsOf(name: string): ModelInstance[] {
    return [...(this.#models.get(name)?.values() ?? [])].sort((a, b) => a.version - b.version);
  }

  /**
   * Loads a model version into a new worker, checks that the protocol can
   * carry its tensors, and warms it up; does not install it.
   * @throws MlctlError when the runtime cannot load it or it has tensors the protocol cannot carry.
   */
  async load(source: ModelSource): Promise<ModelInstance> {
    const label = modelLabel(source.name, source.version);
    const started = performance.now();
    let instance: ModelInstance | undefined;
    const runner = await startWorkerRunner(source.file, this.#options.session, `${label} (${source.file})`, (error) => {
      if (instance === undefined) return;
      instance.failure = error.message;
      this.#logger.error('model-failed', { model: source.name, version: String(source.version), error: error.message });
    }, this.#loads.signal);
    let signature: ModelSignature;
    try {
      signature = modelSignature(runner.inputs, runner.outputs, `${source.file}`);
    } catch (error) {
      await runner.release();
      throw error;
    }
    const loadMs = performance.now() - started;
    const key = `${source.name}/${source.version}`;
    const stats = this.#stats.get(key) ?? new ModelStats(source.name, String(source.version));
    this.#stats.set(key, stats);
    const scheduler = new Scheduler(runner, this.#options.scheduler, {
      execution: (batchSize, inputNs, inferNs, outputNs) => stats.recordExecution(batchSize, inputNs, inferNs, outputNs),
      batchingDisabled: (reason) => this.#logger.warn('batching-disabled', { model: source.name, version: String(source.version), reason }),
    }, label);
    instance = new ModelInstance(source, signature, runner, scheduler, stats);
    const warmupMs = await this.#warmUp(instance);
    this.#logger.info('model-loaded', {
      model: source.name,
      version: String(source.version),
      file: source.file,
      loadMs: Math.round(loadMs),
      warmupMs: warmupMs === undefined ? undefined : Math.round(warmupMs),
      batching: signature.batchable && this.#options.scheduler.maxBatchSize > 1,
    });
    return instance;
  }

  /** One run on random inputs (symbolic dims 1) so the first request does not pay for lazy initialization. */
  async #warmUp(instance: ModelInstance): Promise<number | undefined> {
    const started = performance.now();
    try {
      const feeds = randomInputs(instance.runner.inputs, { defaultDim: 1 });
      await instance.runner.run(feeds, instance.runner.outputs.map((output) => output.name));
      return performance.now() - started;
    } catch (error) {
      // Some models need particular values (e.g. shapes that agree); real requests may still run.
      this.#logger.warn('warmup-failed', { model: instance.name, version: String(instance.version), error: describeError(error) });
      return undefined;
    }
  }

  /**
   * Makes `instance` the one serving its name and version. A version it
   * replaces finishes the requests it holds, then its worker is released.
   */
  install(instance: ModelInstance): void {
    const versions = this.#models.get(instance.name) ?? new Map<number, ModelInstance>();
    const previous = versions.get(instance.version);
    versions.set(instance.version, instance);
    this.#models.set(instance.name, versions);
    this.#expected.get(instance.name)?.delete(instance.version);
    if (previous !== undefined) this.#retire(previous);
  }

  /** Stops serving a version; it finishes the requests it holds first. */
  unload(name: string, version: number): void {
    const versions = this.#models.get(name);
    const instance = versions?.get(version);
    if (versions === undefined || instance === undefined) return;
    versions.delete(version);
    if (versions.size === 0) this.#models.delete(name);
    this.#retire(instance);
  }

  #retire(instance: ModelInstance): void {
    const retired = instance.scheduler.idle()
      .then(() => instance.runner.release())
      .catch((error: unknown) => this.#logger.warn('release-failed', { model: instance.name, version: String(instance.version), error: describeError(error) }))
      .finally(() => this.#retiring.delete(retired));
    this.#retiring.add(retired);
  }

  /**
   * The instance a request addresses: the given version, or the highest loaded one.
   * @throws HttpError 400 for a malformed name or version, 404 for an unknown model or
   *   version, 503 for one still loading or failed.
   */
  resolve(name: string, versionText: string | undefined): ModelInstance {
    if (!isValidModelName(name)) throw badRequest(`model name '${name}' is not valid; names use only the characters A-Z a-z 0-9 _ . -`);
    if (versionText !== undefined && !VERSION_TEXT.test(versionText)) {
      throw badRequest(`model version '${versionText}' is not valid; versions are positive integers`);
    }
    const version = versionText === undefined ? undefined : Number(versionText);
    const versions = this.#models.get(name);
    const expected = this.#expected.get(name);
    const instance = version === undefined ? this.versionsOf(name).at(-1) : versions?.get(version);
    if (instance === undefined) {
      if (expected !== undefined && (version === undefined || expected.has(version))) {
        throw unavailable(`${version === undefined ? `model '${name}'` : modelLabel(name, version)} is still loading; retry shortly`);
      }
      if (versions === undefined) {
        const names = [...this.#models.keys()].sort().map((known) => `'${known}'`).join(', ');
        throw notFound(`unknown model '${name}'; this server serves ${names || 'no models'}`);
      }
      throw notFound(`model '${name}' has no version ${versionText ?? ''}; its versions are ${this.versionsOf(name).map((i) => i.version).join(', ')}`);
    }
    if (instance.failure !== undefined) throw unavailable(`${instance.label} is not available: ${instance.failure}`, 5);
    return instance;
  }

  /**
   * Statistics of every version of every model, of one model, or of one version.
   * @throws HttpError as {@link resolve} does when the model or version is unknown.
   */
  stats(name?: string, versionText?: string): ModelStats[] {
    if (name === undefined) return this.instances().map((instance) => instance.stats);
    if (versionText !== undefined) return [this.resolve(name, versionText).stats];
    this.resolve(name, undefined);
    return this.versionsOf(name).map((instance) => instance.stats);
  }

  /** The protocol's model metadata object for an instance. */
  metadata(instance: ModelInstance): object {
    const tensor = (t: ModelSignature['inputs'][number]): object => ({ name: t.name, datatype: t.datatype.name, shape: t.shape });
    return {
      name: instance.name,
      versions: this.versionsOf(instance.name).map((i) => String(i.version)),
      platform: ONNX_PLATFORM,
      inputs: instance.signature.inputs.map(tensor),
      outputs: instance.signature.outputs.map(tensor),
    };
  }

  /** Gives up the loads in progress (for a shutdown during startup); they reject. */
  abandonLoads(): void {
    this.#loads.abort();
  }

  /** Waits for every queued request to finish, then releases every worker. */
  async close(): Promise<void> {
    const instances = this.instances();
    this.#models.clear();
    await Promise.all(instances.map(async (instance) => {
      await instance.scheduler.idle();
      await instance.runner.release();
    }));
    await Promise.all([...this.#retiring]);
  }
}
