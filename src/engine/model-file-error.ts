import { ArbitrageError, type ErrorCode } from "./errors.js";

/** The one error of the model-file checks: the model's label and path, then what is wrong and the fix. */
export function modelFileError(code: ErrorCode, label: string, path: string, detail: string): never {
  throw new ArbitrageError(code, `${label} model ${JSON.stringify(path)}: ${detail}`);
}
