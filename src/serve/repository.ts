/**
 * Finding the models to serve: one `.onnx` file (served as its file stem,
 * version 1), or a folder in Triton's model repository layout,
 * `<name>/<version>/model.onnx`, with positive integer versions.
 */
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { FileError, MlctlError, describeError } from '../common/errors.js';

/** Characters a model name may use (they are also URL path segments and metric labels). */
export const MODEL_NAME_PATTERN = /^[A-Za-z0-9_.-]+$/;

/** The file name of a version's model in the repository layout. */
export const MODEL_FILE_NAME = 'model.onnx';

const VERSION_PATTERN = /^[1-9][0-9]{0,8}$/;

/** One model version found on disk. */
export interface ModelSource {
  name: string;
  version: number;
  /** Absolute path of the model file. */
  file: string;
}

/** What a scan found. */
export interface RepositoryScan {
  /** Model versions, sorted by name then version. */
  sources: ModelSource[];
  /** Entries that do not fit the layout, with the reason, for warnings. */
  skipped: { path: string; reason: string }[];
}

/** Whether a name is a valid model name (see {@link MODEL_NAME_PATTERN}); '.' and '..' are not. */
export function isValidModelName(name: string): boolean {
  return MODEL_NAME_PATTERN.test(name) && name !== '.' && name !== '..';
}

async function isDirectory(target: string): Promise<boolean> {
  try {
    return (await stat(target)).isDirectory();
  } catch {
    return false;
  }
}

async function isFile(target: string): Promise<boolean> {
  try {
    return (await stat(target)).isFile();
  } catch {
    return false;
  }
}

async function scanModelFolder(root: string, name: string, scan: RepositoryScan): Promise<void> {
  const folder = path.join(root, name);
  const versions = await readdir(folder).catch((error: unknown) => {
    scan.skipped.push({ path: folder, reason: `cannot read it: ${describeError(error)}` });
    return [] as string[];
  });
  let found = 0;
  for (const entry of versions.sort()) {
    const versionFolder = path.join(folder, entry);
    if (!(await isDirectory(versionFolder))) continue;
    if (!VERSION_PATTERN.test(entry)) {
      if (!entry.startsWith('.')) scan.skipped.push({ path: versionFolder, reason: 'a version folder is named by a positive integer' });
      continue;
    }
    const file = path.join(versionFolder, MODEL_FILE_NAME);
    if (!(await isFile(file))) {
      scan.skipped.push({ path: versionFolder, reason: `it has no ${MODEL_FILE_NAME}` });
      continue;
    }
    scan.sources.push({ name, version: Number(entry), file });
    found++;
  }
  if (found === 0) scan.skipped.push({ path: folder, reason: `it has no version folder with a ${MODEL_FILE_NAME} (expected ${name}/1/${MODEL_FILE_NAME})` });
}

/**
 * Finds the model versions under `target` (see the module comment).
 * Folders whose names start with '.' are ignored (Kubernetes volumes keep
 * their own entries there).
 * @throws FileError when `target` does not exist; MlctlError MLCTL_BAD_INPUT when a
 *   single file's stem is not a valid model name or a folder holds no model.
 */
export async function scanRepository(target: string): Promise<RepositoryScan> {
  const root = path.resolve(target);
  let info;
  try {
    info = await stat(root);
  } catch (error) {
    throw new FileError(`cannot read model repository '${target}': ${describeError(error)}`, { cause: error });
  }
  const scan: RepositoryScan = { sources: [], skipped: [] };
  if (info.isFile()) {
    const name = path.basename(root).replace(/\.onnx$/i, '');
    if (!isValidModelName(name)) {
      throw new MlctlError('MLCTL_BAD_INPUT', `cannot serve '${target}': its model name '${name}' (the file name without .onnx) may only use the characters A-Z a-z 0-9 _ . -`, {
        hint: 'rename the file, or put it in a model repository as <name>/1/model.onnx',
      });
    }
    scan.sources.push({ name, version: 1, file: root });
    return scan;
  }
  for (const entry of (await readdir(root)).sort()) {
    if (entry.startsWith('.')) continue;
    const folder = path.join(root, entry);
    if (!(await isDirectory(folder))) {
      scan.skipped.push({ path: folder, reason: `only model folders belong at the top of a repository (<name>/<version>/${MODEL_FILE_NAME})` });
      continue;
    }
    if (!isValidModelName(entry)) {
      scan.skipped.push({ path: folder, reason: 'model names may only use the characters A-Z a-z 0-9 _ . -' });
      continue;
    }
    await scanModelFolder(root, entry, scan);
  }
  return scan;
}

/**
 * Like {@link scanRepository}, but an empty result is an error (for startup).
 * @throws MlctlError MLCTL_BAD_INPUT naming the expected layout when no model is found.
 */
export async function scanRepositoryForStartup(target: string): Promise<RepositoryScan> {
  const scan = await scanRepository(target);
  if (scan.sources.length === 0) {
    const reasons = scan.skipped.map((entry) => `${entry.path}: ${entry.reason}`).join('; ');
    throw new MlctlError('MLCTL_BAD_INPUT', `'${target}' holds no model to serve${reasons === '' ? '' : ` (${reasons})`}`, {
      hint: `give a .onnx file, or a folder laid out as <name>/<version>/${MODEL_FILE_NAME}`,
    });
  }
  return scan;
}
