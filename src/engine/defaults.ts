import type { ModelConfig, ReasonOptions } from "./types.js";

/**
 * The one source of every default and limit a user can meet: the engine applies them, the
 * option schemas (options.ts) check against them, the CLI help prints them, and a test holds
 * package.json's `contributes.configuration` (defaults, minimum, maximum, enums) equal to them.
 * Dependency-free data (no `node:` import), so the webview and the protocol module can import
 * it too; `defaultThreads()` / `defaultModelConfig()`, which ask Node for the core count, are in
 * options.ts.
 */

/**
 * node-llama-cpp defaults to max(4, cores) threads, which on 2 cores is ~100x slower. ggml's
 * thread pool spin-waits, so even `threads = cores` collapses (measured here: 3 ms/token with 1
 * thread vs 170 ms/token with 2) as soon as anything else wants a core — the editor, the other
 * model, a build. One core is therefore left free: cores − 1, at least 1, at most 8.
 */
export const DEFAULT_THREADS_CAP = 8;
/** How the automatic thread count is described wherever a user reads it (CLI help, settings). */
export const DEFAULT_THREADS_RULE = `the number of cores − 1, at least 1, at most ${DEFAULT_THREADS_CAP}`;

export function defaultThreadsFor(cores: number): number {
  return Math.max(1, Math.min(cores - 1, DEFAULT_THREADS_CAP));
}

/** Inclusive bounds of every numeric setting. */
export const LIMITS = {
  threshold: { min: 0, max: 1 },
  temperature: { min: 0, max: 2 },
  maxSteps: { min: 1, max: 10_000 },
  maxTokensPerStep: { min: 1, max: 32_768 },
  threads: { min: 1, max: 256 },
  contextSize: { min: 64, max: 1_048_576 },
  gpuLayers: { min: 0, max: 10_000 },
  draftTokens: { min: 1, max: 64 },
} as const satisfies Record<string, { min: number; max: number }>;

/** Model defaults except `threads`, which depends on the machine (`defaultThreads()`). */
export const MODEL_DEFAULTS = {
  draft: "embedded",
  target: "embedded",
  router: "embedded",
  scorer: "embedded",
  gpu: "auto",
  gpuLayers: "auto",
  contextSize: 4096,
} as const satisfies Omit<ModelConfig, "threads">;

export const REASON_DEFAULTS = {
  // The engine picks the method that this pair runs fastest on this machine, never slower than the target alone.
  policy: "auto",
  // One default for both routers. The trained router's file carries a logit offset fitted on its
  // validation split (training/fit-router-mix.ts) that puts 0.3 where at most 1% of the validation
  // problems lose a step the target would improve: set A keeps 98.0% at 0.3 (matched 0.2, 99.0%),
  // set B 97.5% (matched 0.375); the confidence router's matched point is 0.175–0.2 — the router
  // every other pair gets (bench/results/embedded.json, embedded-b.json). `arbitrage bench` finds
  // the setting for a pair.
  threshold: 0.3,
  maxSteps: 64,
  maxTokensPerStep: 256,
  stepDelimiter: "\n\n",
  temperature: 0,
  prefixReuse: true,
  // Off by default: measured on 2 cores it did not pay (the draft and router decodes did not
  // overlap; arbitrage 3-5% slower with it). Outputs are identical either way.
  speculativeDraft: false,
  tokenSpeculation: false,
  // Draft tokens per verification round of token-level speculation: the fastest of k = 2, 3, 4, 6, 8
  // on the embedded pair (bench/README.md, "Token-level speculation").
  draftTokens: 8,
  promptStyle: "math",
  finalAnswerMarker: "A:",
} as const satisfies ReasonOptions;

/** The model defaults for a machine with `cores` cores. */
export function modelDefaultsFor(cores: number): ModelConfig {
  // Key order as in ModelConfig and its schema: configs are compared as JSON.
  const { contextSize, ...rest } = MODEL_DEFAULTS;
  return { ...rest, threads: defaultThreadsFor(cores), contextSize };
}

export function defaultReasonOptions(): ReasonOptions {
  return { ...REASON_DEFAULTS };
}
