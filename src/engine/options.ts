import { availableParallelism } from "node:os";
import { isAbsolute } from "node:path";
import { ArbitrageError } from "./errors.js";
import {
  GPU_CHOICES,
  POLICIES,
  type GpuChoice,
  type ModelConfig,
  type Policy,
  type PromptStyle,
  type ReasonOptions,
  type RouterChoice,
  type ScorerChoice,
} from "./types.js";

/**
 * Defaults and validation for everything a user can set. Validation is strict and the
 * messages name the setting, the bad value and what is allowed, because the same checks
 * guard the CLI flags, the engine protocol and the VS Code settings.
 */

/**
 * node-llama-cpp defaults to max(4, cores) threads, which on 2 cores is ~100x slower. ggml's
 * thread pool spin-waits, so even `threads = cores` collapses (measured here: 3 ms/token with 1
 * thread vs 170 ms/token with 2) as soon as anything else wants a core — the editor, the other
 * model, a build. One core is therefore left free: cores − 1, at least 1, at most 8.
 */
export function defaultThreads(): number {
  return Math.max(1, Math.min(availableParallelism() - 1, 8));
}

export function defaultModelConfig(): ModelConfig {
  return {
    draft: "embedded",
    target: "embedded",
    router: "embedded",
    scorer: "embedded",
    gpu: "auto",
    gpuLayers: "auto",
    threads: defaultThreads(),
    contextSize: 4096,
  };
}

export function defaultReasonOptions(): ReasonOptions {
  return {
    policy: "arbitrage",
    // On the embedded pair 0.3 keeps accuracy within ~2.5 points of the target at ~1.7x its speed
    // (bench/results/embedded.json); `arbitrage bench` finds the setting for another pair.
    threshold: 0.3,
    maxSteps: 64,
    maxTokensPerStep: 256,
    stepDelimiter: "\n\n",
    temperature: 0,
    prefixReuse: true,
    // Off by default: measured on 2 cores it did not pay (the draft and router decodes did not
    // overlap; arbitrage 3-5% slower with it). Outputs are identical either way.
    speculativeDraft: false,
    promptStyle: "math",
    finalAnswerMarker: "A:",
  };
}

export const MAX_STEPS_LIMIT = 10_000;
export const MAX_TOKENS_PER_STEP_LIMIT = 32_768;
const PROMPT_STYLES: readonly PromptStyle[] = ["math", "code", "plain"];

function invalid(setting: string, value: unknown, allowed: string): never {
  const shown = typeof value === "string" ? JSON.stringify(value) : String(value);
  throw new ArbitrageError("invalid-option", `Invalid ${setting}: ${shown}. ${allowed}`);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function checkThreshold(value: unknown): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0 || value > 1) {
    invalid("threshold", value, "Use a number from 0 to 1 (higher sends fewer steps to the target).");
  }
  return value;
}

export function checkPolicy(value: unknown): Policy {
  if (typeof value !== "string" || !POLICIES.includes(value as Policy)) {
    invalid("policy", value, `Use one of: ${POLICIES.join(", ")}.`);
  }
  return value as Policy;
}

function checkInteger(setting: string, value: unknown, min: number, max: number): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    invalid(setting, value, `Use a whole number from ${min} to ${max}.`);
  }
  return value;
}

function checkModelPath(setting: string, value: unknown): string {
  if (value === "embedded") return value;
  if (typeof value !== "string" || value.trim() === "") {
    invalid(setting, value, 'Use "embedded" or the absolute path of a .gguf file.');
  }
  if (!isAbsolute(value)) invalid(setting, value, "Model paths must be absolute (relative paths would resolve against an unrelated folder).");
  return value;
}

function checkRouter(value: unknown): RouterChoice {
  if (value === "embedded" || value === "confidence") return value;
  if (isRecord(value) && typeof value.path === "string") return { path: checkModelPath("router", value.path) };
  if (typeof value === "string" && isAbsolute(value)) return { path: value };
  return invalid("router", value, 'Use "embedded", "confidence" or the absolute path of a router .gguf file.');
}

function checkScorer(value: unknown): ScorerChoice {
  if (value === "embedded" || value === "exact") return value;
  if (isRecord(value) && typeof value.path === "string") return { path: checkModelPath("scorer", value.path) };
  if (typeof value === "string" && isAbsolute(value)) return { path: value };
  return invalid("scorer", value, 'Use "embedded", "exact" or the absolute path of a PRM .gguf file.');
}

/** Validates a partial model config over the defaults. Unknown keys are rejected (they are usually typos). */
export function validateModelConfig(partial: unknown): ModelConfig {
  if (partial === undefined || partial === null) return defaultModelConfig();
  if (!isRecord(partial)) invalid("model configuration", partial, "Expected an object.");
  const base = defaultModelConfig();
  for (const key of Object.keys(partial)) {
    if (!(key in base)) invalid("model setting name", key, `Known settings: ${Object.keys(base).join(", ")}.`);
  }
  const merged = { ...base, ...partial } as Record<string, unknown>;
  const gpu = merged.gpu;
  if (typeof gpu !== "string" || !GPU_CHOICES.includes(gpu as GpuChoice)) invalid("gpu", gpu, `Use one of: ${GPU_CHOICES.join(", ")}.`);
  const gpuLayers = merged.gpuLayers === "auto" ? "auto" : checkInteger("gpuLayers", merged.gpuLayers, 0, 10_000);
  return {
    draft: checkModelPath("draft model", merged.draft),
    target: checkModelPath("target model", merged.target),
    router: checkRouter(merged.router),
    scorer: checkScorer(merged.scorer),
    gpu: gpu as GpuChoice,
    gpuLayers,
    threads: checkInteger("threads", merged.threads, 1, 256),
    contextSize: checkInteger("contextSize", merged.contextSize, 64, 1_048_576),
  };
}

/** Validates partial request options over the defaults. */
export function validateReasonOptions(partial: unknown): ReasonOptions {
  if (partial === undefined || partial === null) return defaultReasonOptions();
  if (!isRecord(partial)) invalid("request options", partial, "Expected an object.");
  const base = defaultReasonOptions();
  const known = [...Object.keys(base), "router", "scorer"];
  for (const key of Object.keys(partial)) {
    if (!known.includes(key)) invalid("option name", key, `Known options: ${known.join(", ")}.`);
  }
  const m = { ...base, ...partial } as Record<string, unknown>;
  const judges: Pick<ReasonOptions, "router" | "scorer"> = {};
  if (m.router !== undefined) judges.router = checkRouter(m.router);
  if (m.scorer !== undefined) judges.scorer = checkScorer(m.scorer);
  if (typeof m.stepDelimiter !== "string" || m.stepDelimiter.length === 0) {
    invalid("stepDelimiter", m.stepDelimiter, 'Use a non-empty string such as "\\n\\n".');
  }
  if (typeof m.finalAnswerMarker !== "string") invalid("finalAnswerMarker", m.finalAnswerMarker, "Use a string (empty disables it).");
  if (typeof m.temperature !== "number" || !Number.isFinite(m.temperature) || m.temperature < 0 || m.temperature > 2) {
    invalid("temperature", m.temperature, "Use a number from 0 (greedy) to 2.");
  }
  if (typeof m.prefixReuse !== "boolean") invalid("prefixReuse", m.prefixReuse, "Use true or false.");
  if (typeof m.speculativeDraft !== "boolean") invalid("speculativeDraft", m.speculativeDraft, "Use true or false.");
  if (typeof m.promptStyle !== "string" || !PROMPT_STYLES.includes(m.promptStyle as PromptStyle)) {
    invalid("promptStyle", m.promptStyle, `Use one of: ${PROMPT_STYLES.join(", ")}.`);
  }
  return {
    policy: checkPolicy(m.policy),
    threshold: checkThreshold(m.threshold),
    maxSteps: checkInteger("maxSteps", m.maxSteps, 1, MAX_STEPS_LIMIT),
    maxTokensPerStep: checkInteger("maxTokensPerStep", m.maxTokensPerStep, 1, MAX_TOKENS_PER_STEP_LIMIT),
    stepDelimiter: m.stepDelimiter as string,
    temperature: m.temperature as number,
    prefixReuse: m.prefixReuse as boolean,
    speculativeDraft: m.speculativeDraft as boolean,
    promptStyle: m.promptStyle as PromptStyle,
    finalAnswerMarker: m.finalAnswerMarker as string,
    ...judges,
  };
}
