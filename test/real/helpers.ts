import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { LlamaCompletion, type Token } from "node-llama-cpp";
import { checkModelFile, defaultModelConfig, packageRoot, type ReasonResult } from "../../src/engine/index.js";
import { buildPrompt } from "../../src/engine/prompt.js";
import { contextOptions, loadLlama } from "../../src/engine/runtime.js";

/**
 * The real published models of models/real-models.json, fetched by scripts/fetch-real-models.sh
 * (the test command runs it first) into a cache outside the clone.
 */
export const THREADS = 1;

interface RealModelEntry {
  id: string;
  file: string;
}

export function realModelsDir(): string {
  return process.env.ARBITRAGE_REAL_MODELS ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "arbitrage", "real-models");
}

export function realModelPath(id: "smollm2-135m-instruct" | "gemma3-270m" | "qwen2.5-coder-0.5b-instruct" | "qwen2.5-coder-1.5b-instruct"): string {
  const manifest = JSON.parse(readFileSync(join(packageRoot(), "models", "real-models.json"), "utf8")) as { models: RealModelEntry[] };
  const entry = manifest.models.find((m) => m.id === id);
  if (!entry) throw new Error(`no real model ${id} in models/real-models.json`);
  const path = join(realModelsDir(), entry.file);
  if (!existsSync(path)) throw new Error(`${path} is missing: run "bash scripts/fetch-real-models.sh" (the test command does)`);
  return path;
}

/** SmolLM2-135M-Instruct (ChatML template, 49k BPE vocab): the draft — faster and weaker on arithmetic. */
export const SMOL = () => realModelPath("smollm2-135m-instruct");
/** Gemma 3 270M base (no chat template: raw completion prompt, 262k SentencePiece vocab): the target. */
export const GEMMA = () => realModelPath("gemma3-270m");

/** Small real contexts and answers keep the tests inside CI's time on two cores. */
export const REAL_CONFIG = { threads: THREADS, contextSize: 512 };
export const REAL_OPTIONS = { maxSteps: 5, maxTokensPerStep: 40, promptStyle: "math" as const };

/** Engine settings for a real pair: the confidence router (the embedded one only knows the embedded task). */
export function realConfig(draft: string, target: string): Record<string, unknown> {
  return { ...REAL_CONFIG, draft, target, router: "confidence", scorer: "exact" };
}

/** node-llama-cpp's own greedy completion of the same prompt tokens (the chat template rendered by the same wrapper), same context settings. */
export async function plainGreedyTokens(path: string, question: string, maxTokens: number): Promise<string> {
  const config = { ...defaultModelConfig(), ...REAL_CONFIG };
  const check = await checkModelFile(path, "reference");
  const llama = await loadLlama(config.gpu, config.threads);
  const model = await llama.loadModel({ modelPath: path });
  try {
    const context = await model.createContext(contextOptions(check, config));
    const completion = new LlamaCompletion({ contextSequence: context.getSequence() });
    let prompt: Token[] = buildPrompt(model, check, question, REAL_OPTIONS.promptStyle).tokens;
    // LlamaCompletion prepends the model's beginning-of-sequence token itself.
    if (model.tokens.shouldPrependBosToken && prompt[0] === model.tokens.bos) prompt = prompt.slice(1);
    // repeatPenalty: false — LlamaCompletion penalises repeats by default; plain greedy does not.
    return await completion.generateCompletion(prompt, { temperature: 0, maxTokens, repeatPenalty: false });
  } finally {
    await model.dispose();
  }
}

export function tokensOf(r: ReasonResult): number {
  return r.steps.reduce((a, s) => a + s.tokens, 0);
}
