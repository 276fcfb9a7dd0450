/**
 * Running a model with intermediate tensors exposed as extra graph outputs,
 * in groups that bound memory: onnxruntime holds every requested output of a
 * run until the run ends, so a model with hundreds of activations must not
 * request them all at once. Each run fetches one group whose total size stays
 * under a byte budget; sizes are learned from the runs themselves (the first
 * groups are sized from what has been seen so far), and every fetched tensor
 * is handed to the caller and dropped before the next run.
 */
import type { ModelProto, ValueInfoProto } from '../../onnx/types.js';
import { createSession } from '../../runtime/onnxruntime.js';
import type { HostTensor, RuntimeSession } from '../../runtime/types.js';
import { toRuntimeInput, type RuntimeInput } from '../runtime-input.js';

/** Default memory budget for the outputs of one run: 256 MiB. */
export const DEFAULT_EXPOSE_BUDGET_BYTES = 256 * 2 ** 20;

/** Options of {@link ExposedRunner.create}. */
export interface ExposedRunnerOptions {
  /** Bytes of exposed outputs one run may hold (default {@link DEFAULT_EXPOSE_BUDGET_BYTES}). */
  budgetBytes?: number;
  /** Names the model in error messages. */
  label?: string;
}

/** Statistics of the runs so far. */
export interface ExposedRunStats {
  /** onnxruntime runs made. */
  runs: number;
  /** Most tensors and bytes fetched in one run. */
  largestGroupTensors: number;
  largestGroupBytes: number;
}

function byteLength(tensor: HostTensor): number {
  const data = tensor.data as { byteLength?: number; length: number };
  return data.byteLength ?? data.length * 8;
}

/** The model with `names` added to its graph outputs (names already outputs are left alone). */
export function exposeTensors(model: ModelProto, names: readonly string[]): ModelProto {
  const graph = model.graph;
  if (graph === undefined) return model;
  const present = new Set(graph.output.map((o) => o.name ?? ''));
  const added: ValueInfoProto[] = names.filter((n) => !present.has(n)).map((name) => ({ name, metadataProps: [] }));
  return { ...model, graph: { ...graph, output: [...graph.output, ...added] } };
}

/** See the module comment. Always `release()` it. */
export class ExposedRunner {
  readonly stats: ExposedRunStats = { runs: 0, largestGroupTensors: 0, largestGroupBytes: 0 };
  private readonly sizes = new Map<string, number>();

  private constructor(
    private readonly session: RuntimeSession,
    /** Removes the temporary files the session was loaded from (its bytes are not kept: onnxruntime has its own copy). */
    private readonly disposeInput: RuntimeInput['dispose'],
    /** Exposed names the session can fetch. */
    private readonly fetchable: readonly string[],
    /** Requested names that are graph inputs: read from the feeds. */
    private readonly fromFeeds: readonly string[],
    private readonly budgetBytes: number,
  ) {}

  /**
   * Loads `model` with `names` exposed (over 2 GiB, from a temporary file; see runtime-input.ts).
   * @throws MlctlError MLCTL_RUNTIME when onnxruntime cannot load it; FileError when the temporary file cannot be written.
   */
  static async create(model: ModelProto, names: readonly string[], options: ExposedRunnerOptions = {}): Promise<ExposedRunner> {
    const inputs = new Set(model.graph?.input.map((i) => i.name ?? '') ?? []);
    const fromFeeds = names.filter((n) => inputs.has(n));
    const fetchable = names.filter((n) => !inputs.has(n));
    const input = await toRuntimeInput(exposeTensors(model, fetchable));
    let session: RuntimeSession;
    try {
      session = await createSession(input.model, { label: options.label ?? 'the calibration model', labelFile: true, logLevel: 'fatal' });
    } catch (error) {
      await input.dispose();
      throw error;
    }
    return new ExposedRunner(session, input.dispose, fetchable, fromFeeds, options.budgetBytes ?? DEFAULT_EXPOSE_BUDGET_BYTES);
  }

  /** Bytes of `name` in the last run that fetched it; undefined before. */
  knownSize(name: string): number | undefined {
    return this.sizes.get(name);
  }

  /** The session's model inputs. */
  get inputs(): RuntimeSession['inputs'] {
    return this.session.inputs;
  }

  /**
   * The next group of `names` to fetch: as many as fit in the budget, unknown
   * sizes guessed as large as the largest seen (so a group errs towards fewer
   * tensors); a single tensor while no size is known yet.
   */
  private nextGroup(names: readonly string[]): string[] {
    const known = [...this.sizes.values()];
    if (known.length === 0) return names.slice(0, 1);
    const guess = Math.max(...known);
    const group: string[] = [];
    let bytes = 0;
    for (const name of names) {
      const size = this.sizes.get(name) ?? guess;
      if (group.length > 0 && bytes + size > this.budgetBytes) break;
      group.push(name);
      bytes += size;
    }
    return group;
  }

  /**
   * Runs the model on `feeds` as many times as the groups need and hands each
   * requested tensor to `visit` (graph inputs straight from the feeds).
   * @param only - the names to fetch (default all exposed ones).
   * @throws MlctlError MLCTL_RUNTIME when a run fails, MLCTL_BAD_INPUT when the feeds do not fit.
   */
  async run(feeds: Record<string, HostTensor>, visit: (name: string, tensor: HostTensor) => void, only?: ReadonlySet<string>): Promise<void> {
    for (const name of this.fromFeeds) {
      const tensor = feeds[name];
      if (tensor !== undefined && (only === undefined || only.has(name))) visit(name, tensor);
    }
    const wanted = only === undefined ? this.fetchable : this.fetchable.filter((n) => only.has(n));
    // Each group is planned after the previous run, so that sizes learned in the first runs count at once.
    let remaining = [...wanted];
    while (remaining.length > 0) {
      const group = this.nextGroup(remaining);
      remaining = remaining.slice(group.length);
      const outputs = await this.session.run(feeds, group);
      this.stats.runs += 1;
      let bytes = 0;
      for (const name of group) {
        const tensor = outputs[name]!;
        const size = byteLength(tensor);
        this.sizes.set(name, size);
        bytes += size;
        visit(name, tensor);
        delete outputs[name];
      }
      this.stats.largestGroupTensors = Math.max(this.stats.largestGroupTensors, group.length);
      this.stats.largestGroupBytes = Math.max(this.stats.largestGroupBytes, bytes);
    }
  }

  /** Releases the session, then removes its temporary files. */
  async release(): Promise<void> {
    try {
      await this.session.release();
    } finally {
      await this.disposeInput();
    }
  }
}
