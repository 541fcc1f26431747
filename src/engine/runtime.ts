import { GgmlType, GgufInsights, InsufficientMemoryError, type Llama, type LlamaContext, type LlamaModel } from "node-llama-cpp";
import { ArbitrageError } from "./errors.js";
import { selectBackend, type BackendSelection } from "./gpu-backend.js";
import { splitGpuLayers, type LayerCosts, type PairSplit } from "./gpu-split.js";
import type { ModelFileCheck } from "./model-files.js";
import type { GpuChoice, GpuReport, ModelConfig, ModelRole } from "./types.js";

/**
 * node-llama-cpp bindings, models and contexts, created with the settings this project needs
 * everywhere: prebuilt binaries only (`build: "never"`, nothing is compiled or downloaded) and
 * an explicit thread count.
 */

const selections = new Map<string, Promise<BackendSelection>>();

/** The llama.cpp backend for a `gpu` choice (gpu-backend.ts), loaded once per choice and thread count. */
export function loadBackend(gpu: GpuChoice, threads: number): Promise<BackendSelection> {
  const key = `${gpu}:${threads}`;
  let pending = selections.get(key);
  if (!pending) {
    pending = selectBackend(gpu, threads);
    pending.catch(() => selections.delete(key));
    selections.set(key, pending);
  }
  return pending;
}

/** The Llama of `loadBackend` (for callers that need no report). */
export async function loadLlama(gpu: GpuChoice, threads: number): Promise<Llama> {
  return (await loadBackend(gpu, threads)).llama;
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
 * Context options. The embedded demo models are tiny, so their generators get F32 KV cache and no
 * flash attention: that makes their greedy output exactly reproducible (the basis of the
 * byte-identity tests and of lossless prefix reuse). An embedded classifier (router, PRM) only
 * reads two answer logits against a threshold: it keeps llama.cpp's F16 KV cache, which evaluates
 * the router's 11-token query in 0.55 ms instead of 0.80 ms here and moves its scores by at most
 * 2.4e-3 (test/engine/judge-fidelity.test.ts). Real models keep node-llama-cpp's memory-saving defaults.
 */
export function contextOptions(check: ModelFileCheck, config: ModelConfig, purpose: "generate" | "classify" = "generate") {
  const trainContext = Number((check.info.architectureMetadata as { context_length?: number }).context_length ?? config.contextSize);
  const exact = computesExactly(check);
  return {
    contextSize: Math.min(config.contextSize, trainContext > 0 ? trainContext : config.contextSize),
    sequences: 1,
    threads: config.threads,
    ...(exact && purpose === "generate"
      ? { flashAttention: false, experimentalKvCacheKeyType: "F32" as const, experimentalKvCacheValueType: "F32" as const }
      : exact
        ? { flashAttention: false }
        : {}),
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

export async function createContext(
  model: LlamaModel,
  check: ModelFileCheck,
  config: ModelConfig,
  label: string,
  purpose: "generate" | "classify" = "generate",
): Promise<LlamaContext> {
  try {
    return await model.createContext(contextOptions(check, config, purpose));
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

/**
 * A model's VRAM need for each number of offloaded layers, weights and its context together, as
 * node-llama-cpp's GgufInsights estimates them for the context this engine creates (contextOptions).
 */
export async function layerCosts(llama: Llama, check: ModelFileCheck, config: ModelConfig): Promise<LayerCosts> {
  const insights = await GgufInsights.from(check.info, llama);
  const ctx = contextOptions(check, config);
  const kvType = "experimentalKvCacheKeyType" in ctx ? GgmlType.F32 : GgmlType.F16;
  const vramBytes: number[] = [];
  for (let n = 0; n <= insights.totalLayers; n++) {
    const weights = insights.estimateModelResourceRequirements({ gpuLayers: n }).gpuVram;
    const context = insights.estimateContextResourceRequirements({
      contextSize: ctx.contextSize,
      modelGpuLayers: n,
      sequences: ctx.sequences,
      flashAttention: false,
      kvCacheKeyType: kvType,
      kvCacheValueType: kvType,
    }).gpuVram;
    vramBytes.push(weights + context);
  }
  return { totalLayers: insights.totalLayers, vramBytes };
}

/** The VRAM node-llama-cpp keeps free on purpose (its default `vramPadding`: 8% of the total, at most 1.6 GiB). */
export function vramPadding(totalBytes: number): number {
  return Math.floor(Math.min(totalBytes * 0.08, 1.6 * 2 ** 30));
}

export interface OffloadPlan {
  gpuLayers: Record<ModelRole, number | "auto">;
  split: PairSplit | null;
}

/**
 * `gpuLayers` for each generator. On a GPU with `gpuLayers: "auto"` and both models here, the pair
 * is split by splitGpuLayers (the target first) over the free VRAM; otherwise the setting as it is
 * (a number applies to each model; on the CPU nothing is offloaded).
 */
export async function planOffload(llama: Llama, config: ModelConfig, local: Partial<Record<ModelRole, ModelFileCheck>>): Promise<OffloadPlan> {
  const as = (n: number | "auto") => ({ gpuLayers: { draft: n, target: n }, split: null });
  if (llama.gpu === false || config.gpu === "cpu") return as(0);
  if (config.gpuLayers !== "auto" || !local.draft || !local.target || local.draft.path === local.target.path) return as(config.gpuLayers);
  const vram = await llama.getVramState();
  const budget = vram.free - vramPadding(vram.total);
  const split = splitGpuLayers(
    { draft: await layerCosts(llama, local.draft, config), target: await layerCosts(llama, local.target, config) },
    budget,
  );
  return { gpuLayers: { draft: split.draft, target: split.target }, split };
}

/** What the backend selection and the loaded models amount to (after every model of the engine is loaded). */
export async function gpuReport(
  selection: BackendSelection,
  requested: GpuChoice,
  models: Partial<Record<ModelRole, LlamaModel>>,
  split: PairSplit | null,
): Promise<GpuReport> {
  const { llama } = selection;
  const onGpu = selection.backend !== "cpu";
  const vram = onGpu ? await llama.getVramState() : null;
  return {
    backend: selection.backend,
    requested,
    devices: onGpu ? await llama.getGpuDeviceNames() : [],
    layers: Object.fromEntries(
      Object.entries(models).map(([role, m]) => [role, { layers: onGpu ? m.gpuLayers : 0, totalLayers: m.fileInsights.totalLayers }]),
    ),
    vram: vram ? { usedBytes: vram.used, totalBytes: vram.total } : null,
    fallbackReason: selection.fallbackReason,
    attempts: selection.attempts,
    split: split && !split.allFit ? split.description : null,
  };
}
