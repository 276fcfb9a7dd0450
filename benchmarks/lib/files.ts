/**
 * File helpers the I/O baselines of the benchmarks share.
 */
import { constants as fsConstants } from 'node:fs';
import { open, writeFile } from 'node:fs/promises';

/** The baseline write: the bytes to `target`, then fsync of the file (saveModel fsyncs too). */
export async function writeFileSynced(target: string, bytes: Uint8Array): Promise<void> {
  await writeFile(target, bytes);
  const handle = await open(target, fsConstants.O_RDONLY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
