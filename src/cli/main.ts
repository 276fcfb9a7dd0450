/**
 * Entry point of the `mlctl` executable (via bin/mlctl.js). The only module
 * that sets `process.exitCode`; it never calls `process.exit`, so output
 * still buffered in stdout is flushed before the process ends.
 */
import { ExitCode } from '../common/errors.js';
import { createProgram, isDebugEnabled } from './program.js';
import { reportError } from './report-error.js';

// `mlctl inspect --json | head` closes the pipe early; that is not an error worth a stack trace.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
});

const program = createProgram();
try {
  await program.parseAsync(process.argv);
  process.exitCode = ExitCode.ok;
} catch (error) {
  process.exitCode = reportError(error, { debug: isDebugEnabled(program), stderr: process.stderr });
}
