/**
 * Optional test inputs that live outside the repository: the ONNX backend
 * node tests (Debian's libonnx-testdata), the shared onnx-light corpus, and
 * Debian's python3-onnx for `onnx.checker`. Missing ones skip their suite
 * with a message, except under MLCTL_REQUIRE_CORPUS=1 (CI), where they fail.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, it } from 'vitest';

/** Require every optional input (CI). */
export const requireCorpus = process.env.MLCTL_REQUIRE_CORPUS === '1';

/** Where the backend test data lives; MLCTL_ONNX_TESTDATA_DIR points elsewhere (an onnx checkout's onnx/backend/test/data). */
export const backendTestDataDir = process.env.MLCTL_ONNX_TESTDATA_DIR ?? '/usr/share/libonnx-testdata/data';

/** Defines the suite when `available` is true; otherwise skips it with `why`, or fails under MLCTL_REQUIRE_CORPUS=1. */
export function describeIf(available: boolean, title: string, why: string, body: () => void): void {
  if (available) {
    describe(title, body);
  } else if (requireCorpus) {
    describe(title, () => {
      it('has its inputs (MLCTL_REQUIRE_CORPUS=1)', () => {
        throw new Error(why);
      });
    });
  } else {
    console.warn(`skipping ${title}: ${why}`);
    describe.skip(`${title} (skipped: ${why})`, () => {
      it('runs', () => undefined);
    });
  }
}

/** Whether every path exists. */
export function allExist(...paths: string[]): boolean {
  return paths.every((file) => existsSync(file));
}

/** The Python with ONNX that judges converted models (Debian's python3-onnx, ONNX 1.12: opsets up to 17). */
export const python = '/usr/bin/python3';

/** Highest opset the installed onnx.checker knows. */
export const checkerMaxOpset = 17;

let pythonOnnx: boolean | undefined;

/** Whether `python` can import onnx. */
export function hasPythonOnnx(): boolean {
  pythonOnnx ??= existsSync(python) && spawnSync(python, ['-c', 'import onnx'], { stdio: 'ignore', timeout: 60_000 }).status === 0;
  return pythonOnnx;
}

const checkScript = `
import sys, onnx
for path in sys.argv[1:]:
    try:
        onnx.checker.check_model(onnx.load(path), full_check=True)
    except Exception as error:
        print(path + '\\t' + str(error).replace('\\n', ' ')[:500])
`;

/**
 * Runs onnx.checker.check_model(full_check=True) on each file; returns the
 * files it rejected, with its message.
 */
export function onnxCheckerFailures(files: readonly string[]): { file: string; message: string }[] {
  const result = spawnSync(python, ['-c', checkScript, ...files], { encoding: 'utf8', timeout: 170_000, maxBuffer: 64 << 20 });
  if (result.status !== 0) throw new Error(`onnx.checker run failed (status ${String(result.status)}): ${result.stderr}`);
  return result.stdout
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      const [file = '', message = ''] = line.split('\t');
      return { file, message };
    });
}
