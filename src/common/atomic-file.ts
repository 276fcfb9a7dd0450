/**
 * Atomic, no-clobber file output: bytes go to a temporary file in the target's
 * folder, are flushed, then moved into place in one step. A failed or
 * interrupted write leaves no partial file behind.
 */
import { randomBytes } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { link, open, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { FileError, MlctlError } from './errors.js';

export interface AtomicWriteOptions {
  /** Replace an existing file (default: refuse). */
  force?: boolean;
}

/**
 * Largest single write(): one huge write of a multi-hundred-MiB tensor measured
 * 1.2-1.4x slower than 8 MiB pieces here (benchmarks/RESULTS.md).
 */
const MAX_WRITE_BYTES = 8 * 1024 * 1024;

/** Writes every byte of `chunk` (FileHandle.write may write less than asked). */
async function writeFully(handle: FileHandle, chunk: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < chunk.length) {
    const { bytesWritten } = await handle.write(chunk, offset, Math.min(chunk.length - offset, MAX_WRITE_BYTES));
    offset += bytesWritten;
  }
}

function systemMessage(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOENT': return 'the folder does not exist';
    case 'EACCES':
    case 'EPERM': return 'permission denied';
    case 'ENOSPC': return 'no space left on the device';
    case 'EISDIR': return 'it is a directory';
    case 'EROFS': return 'the file system is read-only';
    default: return error instanceof Error ? error.message : String(error);
  }
}

/** Refuses to go on when `target` exists and `force` is not set. */
export async function assertWritable(target: string, options: AtomicWriteOptions = {}): Promise<void> {
  const existing = await stat(target).catch(() => undefined);
  if (existing?.isDirectory()) throw new FileError(`cannot write '${target}': it is a directory`);
  if (existing !== undefined && options.force !== true) {
    throw new MlctlError('MLCTL_OUTPUT_EXISTS', `'${target}' already exists`, { hint: 'pass --force to overwrite it' });
  }
}

/**
 * Creates `target` atomically: `write` fills a temporary file in the same
 * folder, which is then flushed and moved into place. On any failure the
 * temporary file is removed and `target` is untouched.
 * @param what how to name the file in error messages, e.g. 'external data file'.
 * @throws MlctlError MLCTL_OUTPUT_EXISTS when the file exists and `force` is not set; FileError on I/O failure;
 *   whatever MlctlError `write` throws.
 */
export async function writeFileAtomicWith(
  target: string,
  write: (handle: FileHandle) => Promise<void>,
  options: AtomicWriteOptions & { what?: string } = {},
): Promise<void> {
  await assertWritable(target, options);
  const dir = path.dirname(path.resolve(target));
  const temp = path.join(dir, `.${path.basename(target)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  let handle: FileHandle | undefined;
  try {
    handle = await open(temp, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL, 0o644);
    await write(handle);
    await handle.sync();
    await handle.close();
    handle = undefined;
    if (options.force === true) {
      await rename(temp, target);
    } else {
      // link() fails with EEXIST instead of replacing: no clobbering even in a race.
      await link(temp, target);
      await unlink(temp);
    }
  } catch (error) {
    await handle?.close().catch(() => undefined);
    await unlink(temp).catch(() => undefined);
    if (error instanceof MlctlError) throw error;
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new MlctlError('MLCTL_OUTPUT_EXISTS', `'${target}' already exists`, { hint: 'pass --force to overwrite it' });
    }
    const what = options.what === undefined ? '' : `${options.what} `;
    throw new FileError(`cannot write ${what}'${target}': ${systemMessage(error)}`, { cause: error });
  }
}

/**
 * Writes `chunks` to `target` atomically.
 * @throws MlctlError MLCTL_OUTPUT_EXISTS when the file exists and `force` is not set; FileError on I/O failure.
 */
export async function writeFileAtomic(target: string, chunks: readonly Uint8Array[], options: AtomicWriteOptions = {}): Promise<void> {
  await writeFileAtomicWith(target, async (handle) => {
    for (const chunk of chunks) await writeFully(handle, chunk);
  }, options);
}

export { systemMessage as describeSystemError };
