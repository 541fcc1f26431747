import { after, before } from "node:test";
import { LlamaCompletion } from "node-llama-cpp";
import { ArbitrageEngine, checkModelFile, defaultModelConfig, embeddedModelPath, type ReasonResult } from "../../src/engine/index.js";
import { buildPrompt } from "../../src/engine/prompt.js";
import { contextOptions, loadLlama } from "../../src/engine/runtime.js";

/** Real engines on the real embedded GGUF models; one thread (two cores here, and ggml's spinning pool collapses under contention). */
export const THREADS = 1;

/** Questions of the embedded task family (every intermediate value in 0..99, one factor of each product <= 9). */
export const QUESTIONS = ["(12+7)*3-5", "48-19+7*6", "(35+28)-4*9", "90-(17+26)*2", "6*(14-9)+53", "61-15+3*8"];

/** One engine for a whole suite: loaded before its tests, disposed after them. */
export function sharedEngine(overrides: Record<string, unknown> = {}): () => ArbitrageEngine {
  let loaded: ArbitrageEngine | undefined;
  before(async () => {
    loaded = await engine(overrides);
  });
  after(async () => {
    await loaded?.dispose();
  });
  return () => loaded!;
}

export function engine(overrides: Record<string, unknown> = {}): Promise<ArbitrageEngine> {
  return ArbitrageEngine.create({ threads: THREADS, ...overrides });
}

/** Plain greedy generation through node-llama-cpp's own completion API, on the same prompt and context settings. */
export async function plainGreedy(role: "draft" | "target", question: string, maxTokens = 200): Promise<string> {
  const config = { ...defaultModelConfig(), threads: THREADS };
  const check = await checkModelFile(embeddedModelPath(role), role);
  const llama = await loadLlama(config.gpu, config.threads);
  const model = await llama.loadModel({ modelPath: check.path });
  try {
    const context = await model.createContext(contextOptions(check, config));
    const completion = new LlamaCompletion({ contextSequence: context.getSequence() });
    const prompt = buildPrompt(model, check, question, "math");
    return await completion.generateCompletion(prompt.text, { temperature: 0, maxTokens });
  } finally {
    await model.dispose();
  }
}

export function texts(r: ReasonResult): string[] {
  return r.steps.map((s) => s.text);
}
