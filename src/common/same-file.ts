import { realpath } from 'node:fs/promises';
import path from 'node:path';

/** Whether two paths name one file (also through symbolic links, when both exist). */
export async function sameFile(a: string, b: string): Promise<boolean> {
  if (path.resolve(a) === path.resolve(b)) return true;
  const [realA, realB] = await Promise.all([realpath(a).catch(() => undefined), realpath(b).catch(() => undefined)]);
  return realA !== undefined && realA === realB;
}
