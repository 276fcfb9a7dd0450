import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeFileAtomic, writeFileAtomicWith } from '../../src/common/atomic-file.js';
import { FileError, MlctlError } from '../../src/common/errors.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'mlctl-atomic-'));
});
afterEach(() => {
  chmodSync(dir, 0o755);
  rmSync(dir, { recursive: true, force: true });
});

describe('writeFileAtomic', () => {
  it('writes all chunks in order and leaves no temporary file', async () => {
    const target = path.join(dir, 'out.bin');
    await writeFileAtomic(target, [new Uint8Array([1, 2]), new Uint8Array(0), new Uint8Array([3])]);
    expect([...readFileSync(target)]).toEqual([1, 2, 3]);
    expect(readdirSync(dir)).toEqual(['out.bin']);
  });

  it('refuses to overwrite an existing file without force, and keeps it intact', async () => {
    const target = path.join(dir, 'out.bin');
    writeFileSync(target, 'original');
    const attempt = writeFileAtomic(target, [new Uint8Array([1])]);
    await expect(attempt).rejects.toThrow(MlctlError);
    await expect(writeFileAtomic(target, [new Uint8Array([1])])).rejects.toMatchObject({ code: 'MLCTL_OUTPUT_EXISTS', hint: 'pass --force to overwrite it' });
    expect(readFileSync(target, 'utf8')).toBe('original');
    await writeFileAtomic(target, [new Uint8Array([65])], { force: true });
    expect(readFileSync(target, 'utf8')).toBe('A');
  });

  it('leaves neither the target nor a temporary file when writing fails midway', async () => {
    const target = path.join(dir, 'out.bin');
    const failure = writeFileAtomicWith(target, async (handle) => {
      await handle.write(new Uint8Array(1024));
      throw new MlctlError('MLCTL_BAD_INPUT', 'boom');
    });
    await expect(failure).rejects.toThrow('boom');
    expect(readdirSync(dir)).toEqual([]);
  });

  it('reports a missing folder and an unwritable folder as FileError naming the file', async () => {
    const missing = path.join(dir, 'no/such/dir/out.bin');
    await expect(writeFileAtomic(missing, [new Uint8Array(1)])).rejects.toThrow(new FileError(`cannot write '${missing}': the folder does not exist`));
    if (process.getuid?.() !== 0) {
      const locked = path.join(dir, 'locked');
      mkdirSync(locked);
      chmodSync(locked, 0o500);
      await expect(writeFileAtomic(path.join(locked, 'x.bin'), [new Uint8Array(1)])).rejects.toThrow(/permission denied/);
    }
    expect(existsSync(missing)).toBe(false);
  });

  it('refuses a directory as target', async () => {
    await expect(writeFileAtomic(dir, [new Uint8Array(1)], { force: true })).rejects.toThrow(`cannot write '${dir}': it is a directory`);
  });
});
