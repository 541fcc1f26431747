import { getLlama, GgufInsights, InsufficientMemoryError, type Llama, type LlamaContext, type LlamaModel } from "node-llama-cpp";
import { cudaLoadProblem } from "./cuda-diagnosis.js";
import { ArbitrageError } from "./errors.js";
import type { ModelFileCheck } from "./model-files.js";
import type { GpuChoice, ModelConfig } from "./types.js";

/**
 * node-llama-cpp bindings, models and contexts, created with the settings this project needs
 * everywhere: prebuilt binaries only (`build: "never"`, nothing is compiled or downloaded) and
 * an explicit thread count.
 */

const llamas = new Map<string, Promise<Llama>>();

export function loadLlama(gpu: GpuChoice, threads: number): Promise<Llama> {
  const key = `${gpu}:${threads}`;
  let pending = llamas.get(key);
  if (!pending) {
    pending = getLlama({
      gpu: gpu === "cpu" ? false : gpu,
      build: "never",
      maxThreads: threads,
      logLevel: "error" as never,
      progressLogs: false,
    }).catch(async (e: unknown) => {
      llamas.delete(key);
      // node-llama-cpp says only "NoBinaryFoundError" when the CUDA binding does not load: find out why.
      const why = gpu === "cuda" ? await cudaLoadProblem() : `${(e as Error).message}. No prebuilt binary for that backend is installed here`;
      throw new ArbitrageError(
        "model-load-failed",
        `Cannot start llama.cpp with gpu "${gpu}": ${why}. Set arbitrage.gpu to "auto" or "cpu" meanwhile.`,
      );
    });
    llamas.set(key, pending);
  }
  return pending;
}

/**
 * node-llama-cpp's estimate of the memory a model's weights take (GgufInsights, all layers on the
 * CPU): the bytes that must fit in free RAM, or RAM and free VRAM together. It is the heuristic
 * from the tensor infos; estimateModelResourceRequirementsV2 simulates a native load instead (a
 * second or more for Gemma 3 270M, and llama.loadModel repeats it) and gives the same figure on
 * every model this project runs.
 */
export async function estimateModelBytes(llama: Llama, check: ModelFileCheck): Promise<number> {
  const insights = await GgufInsights.from(check.info, llama);
  const { cpuRam, gpuVram } = insights.estimateModelResourceRequirements({ gpuLayers: 0 });
  return cpuRam + gpuVram;
}

/** Free RAM as node-llama-cpp measures it, plus free VRAM when layers may be offloaded. */
export async function freeMemoryBytes(llama: Llama, config: ModelConfig): Promise<number> {
  const ram = (await llama.getRamState()).free;
  const offload = llama.gpu !== false && config.gpu !== "cpu" && config.gpuLayers !== 0;
  return ram + (offload ? (await llama.getVramState()).free : 0);
}

function gib(bytes: number): string {
  const g = bytes / 2 ** 30;
  return g >= 1 ? g.toFixed(1) : g.toPrecision(2);
}

/**
 * Refuses a model whose estimated size exceeds the free memory. llama.cpp on the CPU does not check:
 * it maps the file and the machine swaps, or the process is killed, instead of an error.
 */
export function checkFitsInMemory(estimateBytes: number, freeBytes: number, label: string, path: string): void {
  if (estimateBytes <= freeBytes) return;
  throw new ArbitrageError(
    "model-too-large",
    `The ${label} model ${JSON.stringify(path)} needs about ${gib(estimateBytes)} GiB of memory (node-llama-cpp's estimate), but only ${gib(freeBytes)} GiB is free. Choose a smaller or more quantised model (e.g. a Q4_K_M file), or close other programs to free memory.`,
  );
}

export async function loadModel(
  llama: Llama,
  check: ModelFileCheck,
  label: string,
  config: ModelConfig,
  onProgress?: (p: number) => void,
  signal?: AbortSignal,
  /** Only the vocabulary (a model that runs on a server: its prompts and tokens are made here). */
  vocabOnly = false,
): Promise<LlamaModel> {
  try {
    if (!vocabOnly) checkFitsInMemory(await estimateModelBytes(llama, check), await freeMemoryBytes(llama, config), label, check.path);
    return await llama.loadModel({
      modelPath: check.path,
      vocabOnly,
      gpuLayers: config.gpu === "cpu" ? 0 : config.gpuLayers,
      onLoadProgress: onProgress,
      loadSignal: signal,
    });
  } catch (e) {
    if (e instanceof ArbitrageError) throw e;
    if (signal?.aborted) throw new ArbitrageError("cancelled", `Loading the ${label} model was cancelled.`);
    if (e instanceof InsufficientMemoryError) {
      throw new ArbitrageError(
        "model-too-large",
        `The ${label} model ${JSON.stringify(check.path)} (${(check.sizeBytes / 2 ** 30).toFixed(1)} GiB) does not fit in free memory. Choose a smaller or more quantised model, lower arbitrage.gpuLayers, or close other programs.`,
      );
    }
    throw new ArbitrageError(
      "model-load-failed",
      `llama.cpp could not load the ${label} model ${JSON.stringify(check.path)}: ${(e as Error).message}`,
    );
  }
}

/**
 * Context options. The embedded demo models are tiny, so they get F32 KV cache and no flash
 * attention: that makes their greedy output exactly reproducible (the basis of the
 * byte-identity tests). Real models keep node-llama-cpp's memory-saving defaults.
 */
export function contextOptions(check: ModelFileCheck, config: ModelConfig) {
  const trainContext = Number((check.info.architectureMetadata as { context_length?: number }).context_length ?? config.contextSize);
  const exact = computesExactly(check);
  return {
    contextSize: Math.min(config.contextSize, trainContext > 0 ? trainContext : config.contextSize),
    sequences: 1,
    threads: config.threads,
    ...(exact ? { flashAttention: false, experimentalKvCacheKeyType: "F32" as const, experimentalKvCacheValueType: "F32" as const } : {}),
  };
}

/** Whether a batch and one token at a time compute identical logits for this model (the embedded models' exact settings). */
export function computesExactly(check: ModelFileCheck): boolean {
  return check.arbitrage.role !== undefined;
}

/**
 * The logit gap a batched greedy prediction needs before prefix reuse trusts it, for models whose
 * batched and one-token evaluations differ (quantized kernels, F16 KV cache). Measured here: up to
 * 1.01 logits between a 48-token batch and one-token steps on Gemma 3 270M Q4_K_M, and flips of
 * near-ties (gap < 0.1) on SmolLM2-135M Q4_1; 2 leaves room above the largest difference seen.
 */
export const QUANTIZED_REUSE_MARGIN = 2;

export function reuseMargin(check: ModelFileCheck): number {
  return computesExactly(check) ? 0 : QUANTIZED_REUSE_MARGIN;
}

export async function createContext(model: LlamaModel, check: ModelFileCheck, config: ModelConfig, label: string): Promise<LlamaContext> {
  try {
    return await model.createContext(contextOptions(check, config));
  } catch (e) {
    if (e instanceof InsufficientMemoryError) {
      throw new ArbitrageError(
        "model-too-large",
        `No memory for a ${config.contextSize}-token context of the ${label} model. Lower arbitrage.contextSize.`,
      );
    }
    throw new ArbitrageError("model-load-failed", `Cannot create a context for the ${label} model: ${(e as Error).message}`);
  }
}
