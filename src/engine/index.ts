/** The Arbitrage engine: pure Node (no `vscode` import), used by the CLI and the engine server. */
export { ArbitrageEngine, validateQuestion, type CreateOptions, type EngineInfo, type ReasonHooks } from "./engine.js";
export { extractFinalAnswer } from "./answer.js";
export { ArbitrageError, isArbitrageError, type ErrorCode } from "./errors.js";
export { checkModelFile } from "./model-files.js";
export {
  checkPolicy,
  checkThreshold,
  defaultModelConfig,
  defaultReasonOptions,
  defaultThreads,
  validateModelConfig,
  validateReasonOptions,
} from "./options.js";
export { embeddedModelPath, embeddedModelsDir, packageRoot } from "./paths.js";
export * from "./types.js";
