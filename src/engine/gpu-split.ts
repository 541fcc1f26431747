/**
 * How `gpuLayers: "auto"` shares one GPU between the draft and the target. node-llama-cpp's own
 * "auto" fits each model into the VRAM that is free when it loads, so whichever loads first takes
 * what it wants and the other gets the rest. For a pair the order matters: the target gets its
 * layers first, because its tokens cost most. The engine's meters (ModelMeter.ms / generated)
 * measure that on every run, and the bench reports it as msPerToken per model: on the embedded
 * pair the target takes ~10x the draft's time per token (316 vs 3,193 tokens/s on the CPU, threads
 * 1, `bash scripts/gpu-check.sh`; the bench prints the same for any pair). A
 * target layer moved off the CPU therefore saves more time than a draft layer, and a draft left
 * on the CPU still runs at small-model speed.
 * The draft then gets whatever VRAM the target leaves.
 *
 * Pure: the VRAM costs come from node-llama-cpp's GgufInsights (weights and context for each
 * layer count, see runtime.ts `layerCosts`); no GPU is needed to decide or to test it.
 */
import { gib } from "../shared/units.js";

/** A model's VRAM need for every offload: `vramBytes[n]` = weights and context with `n` layers on the GPU, n = 0..totalLayers. */
export interface LayerCosts {
  totalLayers: number;
  vramBytes: number[];
}

export interface PairSplit {
  draft: number;
  target: number;
  /** Both models with all their layers fit. */
  allFit: boolean;
  /** In words, e.g. "target 30/30 layers, draft 12/24 layers on the GPU (7.1 of 8.0 GiB; both did not fit)". */
  description: string;
}

/** The most layers (0..totalLayers) whose cost fits `budget`, assuming cost grows with the layer count. */
function mostLayersWithin(costs: LayerCosts, budget: number): number {
  let best = 0;
  for (let n = 0; n <= costs.totalLayers; n++) if ((costs.vramBytes[n] ?? Infinity) <= budget) best = n;
  return best;
}

/**
 * Layers per model for a VRAM budget (free VRAM less node-llama-cpp's safety padding). Both fit:
 * all layers each. Else the target takes as many as fit next to a draft with none, and the draft
 * takes as many as fit in the rest.
 */
export function splitGpuLayers(costs: { draft: LayerCosts; target: LayerCosts }, budgetBytes: number): PairSplit {
  const { draft, target } = costs;
  const full = (c: LayerCosts) => c.vramBytes[c.totalLayers] ?? Infinity;
  if (full(draft) + full(target) <= budgetBytes) {
    return {
      draft: draft.totalLayers,
      target: target.totalLayers,
      allFit: true,
      description: `both models on the GPU: target ${target.totalLayers}/${target.totalLayers} layers, draft ${draft.totalLayers}/${draft.totalLayers} layers (${gib(full(draft) + full(target), 2)} of ${gib(budgetBytes, 2)} GiB)`,
    };
  }
  const draftAtZero = draft.vramBytes[0] ?? 0;
  const t = mostLayersWithin(target, budgetBytes - draftAtZero);
  const targetCost = target.vramBytes[t] ?? 0;
  const d = mostLayersWithin(draft, budgetBytes - targetCost);
  const used = targetCost + (draft.vramBytes[d] ?? 0);
  return {
    draft: d,
    target: t,
    allFit: false,
    description: `the pair does not fit in ${gib(budgetBytes, 2)} GiB (needs ${gib(full(draft) + full(target), 2)}): target first, ${t}/${target.totalLayers} layers; draft ${d}/${draft.totalLayers} layers (${gib(used, 2)} GiB used)`,
  };
}
