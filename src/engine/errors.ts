/**
 * Every failure the engine reports is an ArbitrageError with a stable code (for programs,
 * tests and the protocol) and a message that names the cause and the fix (for people).
 */
export const ERROR_CODES = [
  "model-missing",
  "model-is-directory",
  "model-not-regular-file",
  "model-symlink-loop",
  "model-unreadable",
  "model-empty",
  "model-not-gguf",
  "model-unsupported-version",
  "model-corrupt",
  "model-not-llm",
  "model-unsupported-architecture",
  "model-too-large",
  "model-load-failed",
  "invalid-option",
  "empty-question",
  "invalid-question",
  "question-too-long",
  "cancelled",
  "engine-crashed",
  "engine-busy",
  "internal",
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export class ArbitrageError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string) {
    super(message);
    this.name = "ArbitrageError";
    this.code = code;
  }

  /** JSON form used across process boundaries. */
  toJSON(): { code: ErrorCode; message: string } {
    return { code: this.code, message: this.message };
  }
}

export function isArbitrageError(e: unknown): e is ArbitrageError {
  return e instanceof ArbitrageError;
}

export function cancelledError(): ArbitrageError {
  return new ArbitrageError("cancelled", "The request was cancelled.");
}
