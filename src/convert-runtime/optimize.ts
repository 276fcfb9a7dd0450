/**
 * `--optimize basic|extended|all`: the graph ONNX Runtime itself makes of the
 * model at session creation, saved through its `optimizedModelFilePath`.
 * The result may hold ONNX Runtime-only operators (the com.microsoft
 * domain, and at `all` the CPU-specific com.microsoft.nchwc layouts), which
 * other runtimes cannot load, so the report always warns.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadModel } from '../onnx/model-io.js';
import { forEachNode } from '../onnx/graph.js';
import { normalizeDomain } from '../onnx/opset.js';
import type { ModelProto } from '../onnx/types.js';
import { createSession } from '../runtime/onnxruntime.js';
import type { ExecutionProviderName } from '../runtime/types.js';

/** The optimization levels `--optimize` takes. */
export type OptimizeLevel = 'basic' | 'extended' | 'all';

/** What {@link optimizeWithRuntime} did. */
export interface OptimizeReport {
  level: OptimizeLevel;
  executionProvider: ExecutionProviderName;
  nodesBefore: number;
  nodesAfter: number;
  /** Operators of non-ONNX domains in the result, as `domain::Op` with counts. */
  runtimeOnlyOps: Record<string, number>;
  warnings: string[];
}

function countNodes(model: ModelProto): { nodes: number; runtimeOnly: Record<string, number> } {
  let nodes = 0;
  const runtimeOnly: Record<string, number> = {};
  forEachNode(model, (node, where) => {
    if (where.graph === undefined) return;
    nodes += 1;
    const domain = normalizeDomain(node.domain);
    if (domain !== '' && domain !== 'ai.onnx.ml') {
      const key = `${domain}::${node.opType ?? '?'}`;
      runtimeOnly[key] = (runtimeOnly[key] ?? 0) + 1;
    }
  });
  return { nodes, runtimeOnly };
}

/**
 * Lets ONNX Runtime optimize `bytes` (a serialized model with its data
 * inline) and returns the model it writes. The temporary file is removed.
 * @throws MlctlError MLCTL_RUNTIME when ONNX Runtime cannot load the model.
 */
export async function optimizeWithRuntime(
  bytes: Uint8Array,
  before: ModelProto,
  level: OptimizeLevel,
  executionProvider: ExecutionProviderName = 'cpu',
): Promise<{ model: ModelProto; report: OptimizeReport }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'mlctl-optimize-'));
  try {
    const file = path.join(dir, 'optimized.onnx');
    const session = await createSession(bytes, { label: 'the model to optimize', logLevel: 'fatal', graphOptimizationLevel: level, optimizedModelPath: file, executionProvider });
    await session.release();
    const { model } = await loadModel(file);
    const counted = countNodes(model);
    const warnings = [
      'the optimized model is what ONNX Runtime makes of it for this machine; it may hold ONNX Runtime-only operators that other runtimes (and older ONNX Runtime versions) cannot load',
    ];
    if (level === 'all') warnings.push("level 'all' applies layout optimizations for this CPU (com.microsoft.nchwc); load the result only with ONNX Runtime on a similar machine");
    const runtimeOnly = Object.keys(counted.runtimeOnly);
    if (runtimeOnly.length > 0) warnings.push(`it holds ${runtimeOnly.length} ONNX Runtime-only operator type(s): ${runtimeOnly.join(', ')}`);
    return {
      model,
      report: { level, executionProvider, nodesBefore: countNodes(before).nodes, nodesAfter: counted.nodes, runtimeOnlyOps: counted.runtimeOnly, warnings },
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
