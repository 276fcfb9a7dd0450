/**
 * `--watch`: polls the model repository and reloads what changed. A file is
 * reloaded only once it has looked the same for one whole interval (so a copy
 * still being written is not read half-way); the new version is loaded and
 * warmed in its own worker before it replaces the old one, and a failed load
 * keeps the old one serving and logs why. New versions and models are
 * loaded; versions whose folder disappears are unloaded.
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { describeError } from '../common/errors.js';
import type { Logger } from './logger.js';
import type { ModelRegistry } from './model-registry.js';
import { scanRepository, type ModelSource } from './repository.js';

/** What identifies one state of a file: a replaced (renamed-over) file has a new inode. */
async function fingerprint(file: string): Promise<string | undefined> {
  try {
    const info = await stat(file);
    return `${info.ino}:${info.size}:${info.mtimeMs}`;
  } catch {
    return undefined;
  }
}

function keyOf(name: string, version: number): string {
  return `${name}/${version}`;
}

/** A running watcher. */
export interface RepositoryWatcher {
  /** Stops polling and waits for a reload in progress. */
  stop(): Promise<void>;
}

/**
 * Starts watching `target`.
 * @param loaded the sources loaded at startup, to compare against.
 * @param intervalMs how often to look, in milliseconds.
 */
export async function watchRepository(target: string, loaded: readonly ModelSource[], registry: ModelRegistry, logger: Logger, intervalMs: number): Promise<RepositoryWatcher> {
  /** The fingerprint each served version was loaded from (or last failed to load from). */
  const served = new Map<string, string | undefined>();
  /** What each file looked like at the previous poll. */
  const seen = new Map<string, string | undefined>();
  for (const source of loaded) {
    const print = await fingerprint(source.file);
    served.set(keyOf(source.name, source.version), print);
    seen.set(source.file, print);
  }
  const failed = new Map<string, string | undefined>();
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let polling: Promise<void> = Promise.resolve();

  const reload = async (source: ModelSource, print: string | undefined, isNew: boolean): Promise<void> => {
    const key = keyOf(source.name, source.version);
    logger.info(isNew ? 'model-loading' : 'model-reloading', { model: source.name, version: String(source.version), file: source.file });
    try {
      const instance = await registry.load(source);
      if (stopped) {
        await instance.runner.release();
        return;
      }
      registry.install(instance);
      served.set(key, print);
      failed.delete(key);
      logger.info(isNew ? 'model-added' : 'model-reloaded', { model: source.name, version: String(source.version) });
    } catch (error) {
      failed.set(key, print);
      logger.error('reload-failed', {
        model: source.name,
        version: String(source.version),
        file: source.file,
        error: describeError(error),
        action: isNew ? 'not loaded' : 'keeps serving the previous load',
      });
    }
  };

  const poll = async (): Promise<void> => {
    let sources: ModelSource[];
    try {
      sources = (await scanRepository(target)).sources;
    } catch (error) {
      logger.warn('watch-failed', { target, error: describeError(error), action: 'keeps serving the loaded models' });
      return;
    }
    const present = new Set<string>();
    for (const source of sources) {
      if (stopped) return;
      const key = keyOf(source.name, source.version);
      present.add(key);
      const print = await fingerprint(source.file);
      const previous = seen.get(source.file);
      seen.set(source.file, print);
      const stable = print !== undefined && print === previous;
      const isNew = !served.has(key);
      const changed = isNew || served.get(key) !== print;
      if (!changed || !stable || (failed.has(key) && failed.get(key) === print)) continue;
      await reload(source, print, isNew);
    }
    for (const key of [...served.keys()]) {
      if (present.has(key)) continue;
      const [name, versionText] = key.split('/') as [string, string];
      const versionFolder = path.join(path.resolve(target), name, versionText);
      // A version whose folder is gone is unloaded; a file missing from an existing folder is probably being replaced.
      if ((await fingerprint(versionFolder)) !== undefined) continue;
      served.delete(key);
      registry.unload(name, Number(versionText));
      logger.info('model-unloaded', { model: name, version: versionText, reason: `${versionFolder} was removed` });
    }
  };

  const schedule = (): void => {
    if (stopped) return;
    timer = setTimeout(() => {
      polling = poll().catch((error: unknown) => logger.error('watch-failed', { target, error: describeError(error) })).finally(schedule);
    }, intervalMs);
  };
  schedule();
  logger.info('watching', { target, intervalMs });

  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await polling;
    },
  };
}
