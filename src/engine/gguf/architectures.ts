import * as nodeLlamaCpp from "node-llama-cpp";

// GgufArchitectureType is declared a `const enum` but is a real object at run time: read it as one.
const ARCHITECTURE_ENUM = (nodeLlamaCpp as unknown as { GgufArchitectureType: Record<string, string> }).GgufArchitectureType;

/**
 * Architectures the bundled llama.cpp loads (its src/llama-arch.cpp): node-llama-cpp's
 * GgufArchitectureType, plus those that llama.cpp release already knows but the enum lags behind on.
 * For any other name llama.cpp throws "unknown model architecture", which reaches us only as
 * node-llama-cpp's "Failed to load model".
 */
export const KNOWN_ARCHITECTURES: ReadonlySet<string> = new Set([
  ...Object.values(ARCHITECTURE_ENUM).filter((a) => a !== "(unknown)"),
  ...["bailingmoe3", "dots3note", "granite_swa", "hrm_text", "hy_v4", "kimi-k3", "maple", "minimax-01", "pockettts", "qwen4exp", "spark2_5"],
]);
