/**
 * Progress spinner for slow steps. Drawn on stderr only when it is an
 * interactive terminal, so piped or captured output never contains it.
 */
import type { OutputStream } from './command-definition.js';

/**
 * Runs `task` while a spinner with `text` turns on `stream`. When the stream
 * is not interactive (not a TTY, `TERM=dumb`, `CI` set, or no width) nothing is
 * printed and ora is not even loaded. Rethrows what `task` throws.
 */
export async function withSpinner<T>(stream: OutputStream, text: string, task: () => Promise<T>): Promise<T> {
  // A terminal reporting zero columns (e.g. a pty without a size) makes ora
  // compute an infinite number of lines to clear, so it gets no spinner either.
  if (stream.isTTY !== true || stream.columns === 0) return task();

  const { default: ora } = await import('ora');
  // ora decides interactivity itself (TTY, TERM, CI); when it says no, it would
  // print a static "- text" line instead, which we do not want.
  const spinner = ora({ text, stream, discardStdin: false });
  if (!spinner.isEnabled) return task();

  spinner.start();
  try {
    return await task();
  } finally {
    spinner.stop();
  }
}
