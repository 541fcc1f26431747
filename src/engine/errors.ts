/**
 * Every failure Arbitrage reports is an ArbitrageError with a stable code (for programs, tests
 * and the protocol) and a message that names the cause and the fix (for people). It is the one
 * error class on both sides of the engine process: the server sends `toJSON()` as the JSON-RPC
 * error's data and the extension host rebuilds it with `fromJSON` (src/protocol), so callers
 * test `isArbitrageError(e, "cancelled")` instead of reading fields off an unknown value.
 * Dependency-free: the engine, the server, the extension host and the webview all import it.
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
  "gpu-unavailable",
  "invalid-option",
  "empty-question",
  "invalid-question",
  "question-too-long",
  "cancelled",
  "calibration-failed",
  "engine-crashed",
  "remote-unreachable",
  "remote-timeout",
  "remote-http-error",
  "remote-bad-answer",
  "remote-unknown-model",
  "download-failed",
  "internal",
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/** What crosses a process or frame boundary. */
export interface ArbitrageErrorData {
  code: ErrorCode;
  message: string;
  /** For `invalid-option`: the keys from the options' root to the bad value, e.g. ["threshold"]. */
  path?: string[];
  /** The answer committed before the request failed part-way (a remote server's error). */
  partial?: PartialAnswer;
}

/** What a request had committed when it failed: the error ends the request, the answer so far is kept. */
export interface PartialAnswer {
  steps: number;
  text: string;
}

export class ArbitrageError extends Error {
  readonly code: ErrorCode;
  readonly path: readonly string[] | undefined;
  /** The committed answer so far, when the request failed part-way. */
  partial?: PartialAnswer;
  constructor(code: ErrorCode, message: string, details: { path?: readonly string[]; cause?: unknown } = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = "ArbitrageError";
    this.code = code;
    this.path = details.path;
  }

  /** JSON form used across process boundaries. */
  toJSON(): ArbitrageErrorData {
    return {
      code: this.code,
      message: this.message,
      ...(this.path ? { path: [...this.path] } : {}),
      ...(this.partial ? { partial: { ...this.partial } } : {}),
    };
  }

  static fromJSON(data: ArbitrageErrorData): ArbitrageError {
    const e = new ArbitrageError(data.code, data.message, data.path ? { path: data.path } : {});
    if (data.partial) e.partial = { ...data.partial };
    return e;
  }
}

/** True for an ArbitrageError, and when `code` is given, one with that code. */
export function isArbitrageError(e: unknown, code?: ErrorCode): e is ArbitrageError {
  return e instanceof ArbitrageError && (code === undefined || e.code === code);
}

export function cancelledError(): ArbitrageError {
  return new ArbitrageError("cancelled", "The request was cancelled.");
}
