/**
 * mlctl's error hierarchy. Every error a user can cause carries a stable code;
 * exactly one function (`src/cli/report-error.ts`) maps an error to its
 * message and exit code.
 */

/** Stable error codes. Tests and scripts may match on these. */
export type ErrorCode =
  | 'MLCTL_USAGE'
  | 'MLCTL_BAD_MODEL'
  | 'MLCTL_BAD_INPUT'
  | 'MLCTL_UNSAFE_PATH'
  | 'MLCTL_IO'
  | 'MLCTL_OUTPUT_EXISTS'
  | 'MLCTL_TOO_LARGE'
  | 'MLCTL_UNSUPPORTED'
  | 'MLCTL_EP_UNAVAILABLE'
  | 'MLCTL_RUNTIME'
  | 'MLCTL_CHECK_FAILED';

/** Process exit codes, documented in the README. */
export const ExitCode = {
  ok: 0,
  checkFailed: 1,
  usage: 2,
  badInput: 3,
  runtime: 4,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

const exitCodeByErrorCode: Record<ErrorCode, ExitCode> = {
  MLCTL_USAGE: ExitCode.usage,
  MLCTL_OUTPUT_EXISTS: ExitCode.usage,
  MLCTL_BAD_MODEL: ExitCode.badInput,
  MLCTL_BAD_INPUT: ExitCode.badInput,
  MLCTL_UNSAFE_PATH: ExitCode.badInput,
  MLCTL_IO: ExitCode.badInput,
  MLCTL_TOO_LARGE: ExitCode.badInput,
  MLCTL_UNSUPPORTED: ExitCode.badInput,
  MLCTL_EP_UNAVAILABLE: ExitCode.runtime,
  MLCTL_RUNTIME: ExitCode.runtime,
  MLCTL_CHECK_FAILED: ExitCode.checkFailed,
};

export interface MlctlErrorOptions {
  /** The lower-level error this one wraps. */
  cause?: unknown;
  /** A second line telling the user how to fix it. */
  hint?: string;
}

/** Base class of every error mlctl raises on purpose. */
export class MlctlError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;

  constructor(code: ErrorCode, message: string, options: MlctlErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.hint = options.hint;
  }

  get exitCode(): ExitCode {
    return exitCodeByErrorCode[this.code];
  }
}

/** The bytes are not a well-formed ONNX model (or tensor). */
export class ModelFormatError extends MlctlError {
  constructor(message: string, options?: MlctlErrorOptions) {
    super('MLCTL_BAD_MODEL', message, options);
  }
}

/** A path in a model (external data) or on the command line escapes where it is allowed to go. */
export class UnsafePathError extends MlctlError {
  constructor(message: string, options?: MlctlErrorOptions) {
    super('MLCTL_UNSAFE_PATH', message, options);
  }
}

/** Bad command-line usage. */
export class UsageError extends MlctlError {
  constructor(message: string, options?: MlctlErrorOptions) {
    super('MLCTL_USAGE', message, options);
  }
}

/** Reading or writing a file failed. */
export class FileError extends MlctlError {
  constructor(message: string, options?: MlctlErrorOptions) {
    super('MLCTL_IO', message, options);
  }
}

/** Message for an unknown thrown value, without a stack. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

/**
 * The same error (same class and code, the original as `cause`) with context
 * put in front of its message, e.g. the file a nested failure belongs to.
 */
export function withContext<E extends MlctlError>(error: E, prefix: string): E {
  const wrapped = new MlctlError(error.code, `${prefix}${error.message}`, { cause: error, hint: error.hint });
  Object.setPrototypeOf(wrapped, Object.getPrototypeOf(error));
  wrapped.name = error.name;
  return wrapped as E;
}
