import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './helpers/paths.js';

describe("the package entry point ('mlctl')", () => {
  it('lets library users import loadModel and saveModel by package name and round-trip a model', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mlctl-index-'));
    try {
      const source = path.join(repoRoot, 'fixtures/models/mlp.onnx');
      const target = path.join(dir, 'copy.onnx');
      // Package self-reference resolves 'mlctl' through package.json "exports", as for an installed package.
      const script = `
        import { loadModel, saveModel, summarizeModel } from 'mlctl';
        const loaded = await loadModel(${JSON.stringify(source)});
        await saveModel(loaded.model, ${JSON.stringify(target)});
        console.log(JSON.stringify({ nodes: summarizeModel(loaded).nodeCount }));
      `;
      const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: repoRoot, encoding: 'utf8', timeout: 30_000 });
      expect(JSON.parse(out).nodes).toBeGreaterThan(0);
      expect(Buffer.compare(readFileSync(target), readFileSync(source))).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 40_000);
});
