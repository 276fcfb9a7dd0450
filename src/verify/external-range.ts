/**
 * One external tensor's checked byte range, and reading it synchronously:
 * what a worker thread needs to read a weight itself (this module imports
 * nothing of the model layer, so that workers start fast).
 */
import { closeSync, constants as fsConstants, fstatSync, openSync, readSync } from 'node:fs';
import { FileError, UnsafePathError } from '../common/errors.js';

/** One external tensor's checked bytes: plain data, so it can be posted to a worker thread. */
export interface ExternalRange {
  /** Absolute path of the data file, and the identity it had when checked. */
  readonly path: string;
  readonly dev: bigint;
  readonly ino: bigint;
  readonly offset: number;
  readonly lengthBytes: number;
  /** The location as the model writes it, and the tensor, for messages. */
  readonly location: string;
  readonly label: string;
}

/**
 * Reads bytes [byteOffset, byteOffset + target.length) of the tensor at
 * `range` into `target` with positioned reads, refusing a file that is no
 * longer the one checked (swapped for a link, a FIFO or another file since).
 * @throws UnsafePathError, FileError
 */
export function readExternalRange(range: ExternalRange, target: Uint8Array, byteOffset = 0): void {
  if (byteOffset < 0 || byteOffset + target.length > range.lengthBytes) {
    throw new RangeError(`bytes ${byteOffset}..${byteOffset + target.length} are outside the ${range.lengthBytes} bytes of ${range.label}`);
  }
  let fd: number | undefined;
  try {
    try {
      // O_NONBLOCK: opening a FIFO swapped in after the check must not hang.
      fd = openSync(range.path, fsConstants.O_RDONLY | (fsConstants.O_NOFOLLOW ?? 0) | (fsConstants.O_NONBLOCK ?? 0));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ELOOP') {
        throw new UnsafePathError(`external data location '${range.location}' of ${range.label} became a symbolic link while being checked`);
      }
      throw error;
    }
    const stats = fstatSync(fd, { bigint: true });
    if (!stats.isFile() || stats.dev !== range.dev || stats.ino !== range.ino || stats.nlink > 1n) {
      throw new UnsafePathError(`external data location '${range.location}' of ${range.label} changed while being checked; refusing to read it`);
    }
    const start = range.offset + byteOffset;
    let done = 0;
    while (done < target.length) {
      const read = readSync(fd, target, done, target.length - done, start + done);
      if (read === 0) throw new Error(`the file ended after ${byteOffset + done} of ${range.lengthBytes} bytes (was it truncated while reading?)`);
      done += read;
    }
  } catch (error) {
    if (error instanceof UnsafePathError) throw error;
    throw new FileError(`cannot read the external data of ${range.label} from '${range.location}': ${(error as Error).message}`, { cause: error });
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
