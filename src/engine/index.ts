/** The Arbitrage engine: pure Node (no `vscode` import), used by the CLI and the engine server. */
export { ArbitrageEngine, validateQuestion, type CreateOptions, type EngineInfo, type ReasonHooks } from "./engine.js";
export { extractFinalAnswer } from "./answer.js";
export { ArbitrageError, isArbitrageError, type ErrorCode, type PartialAnswer } from "./errors.js";
export { apiKeyVariable } from "./remote/endpoint.js";
export { checkModelFile } from "./model-files.js";
export { DEFAULT_THREADS_RULE, LIMITS, MODEL_DEFAULTS, REASON_DEFAULTS } from "./defaults.js";
export {
  checkModelConfig,
  checkPolicy,
  checkReasonOptions,
  checkThreshold,
  defaultModelConfig,
  defaultReasonOptions,
  defaultThreads,
  validateModelConfig,
  validateReasonOptions,
  type Checked,
  type OptionIssue,
} from "./options.js";
export { embeddedModelPath, embeddedModelsDir, modelPath, packageRoot } from "./paths.js";
export * from "./types.js";
