import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import { checkModelFile, defaultModelConfig, embeddedModelPath } from "../../src/engine/index.js";
import { splitGpuLayers, type LayerCosts } from "../../src/engine/gpu-split.js";
import { layerCosts, loadLlama, vramPadding } from "../../src/engine/runtime.js";
import { THREADS } from "./helpers.js";

/**
 * The pair's GPU split as a pure function of real VRAM estimates: node-llama-cpp's GgufInsights of
 * the embedded models and of the real models in $ARBITRAGE_REAL_MODELS, for given budgets. No GPU
 * is needed: the estimates are computed from the files' tensor infos.
 */
const REAL = process.env.ARBITRAGE_REAL_MODELS ?? "/root/.cache/arbitrage/real-models";
const REAL_DRAFT = join(REAL, "SmolLM2-135M-Instruct.Q4_1.gguf");
const REAL_TARGET = join(REAL, "gemma-3-270m-q4_k_m.gguf");
const MiB = 2 ** 20;

async function costsOf(path: string): Promise<LayerCosts> {
  const config = { ...defaultModelConfig(), threads: THREADS };
  return layerCosts(await loadLlama("cpu", THREADS), await checkModelFile(path, "model"), config);
}

const full = (c: LayerCosts) => c.vramBytes[c.totalLayers]!;

/** Properties every split must have, whatever the budget: within it, the target as many layers as fit beside a draft with none, the draft unable to take one more. */
function assertSound(costs: { draft: LayerCosts; target: LayerCosts }, budget: number, label: string) {
  const s = splitGpuLayers(costs, budget);
  const used = costs.target.vramBytes[s.target]! + costs.draft.vramBytes[s.draft]!;
  assert.ok(s.allFit || used <= budget, `${label}: ${used} bytes used of ${budget}`);
  if (s.target < costs.target.totalLayers) {
    assert.ok(costs.target.vramBytes[s.target + 1]! + costs.draft.vramBytes[0]! > budget, `${label}: the target could take one more layer`);
  }
  if (s.draft < costs.draft.totalLayers) {
    assert.ok(costs.target.vramBytes[s.target]! + costs.draft.vramBytes[s.draft + 1]! > budget, `${label}: the draft could take one more layer`);
  }
  return s;
}

describe("the pair's GPU layer split", () => {
  let embedded: { draft: LayerCosts; target: LayerCosts };
  before(async () => {
    embedded = { draft: await costsOf(embeddedModelPath("draft")), target: await costsOf(embeddedModelPath("target")) };
  });

  it("node-llama-cpp's estimates grow with the layers offloaded (what the split assumes)", () => {
    for (const c of [embedded.draft, embedded.target]) {
      assert.equal(c.vramBytes.length, c.totalLayers + 1);
      assert.equal(c.vramBytes[0], 0, "no layer offloaded, nothing on the GPU");
      for (let n = 1; n <= c.totalLayers; n++) assert.ok(c.vramBytes[n]! >= c.vramBytes[n - 1]!, `layer ${n}`);
    }
    // The target's weights are 25 MB: all its layers need at least that much VRAM.
    assert.ok(full(embedded.target) > 20 * MiB, String(full(embedded.target)));
  });

  it("both fit: all layers of both", () => {
    const s = splitGpuLayers(embedded, full(embedded.draft) + full(embedded.target));
    assert.deepEqual([s.target, s.draft, s.allFit], [embedded.target.totalLayers, embedded.draft.totalLayers, true]);
    assert.match(s.description, /^both models on the GPU: target 9\/9 layers, draft 3\/3 layers/);
  });

  it("they do not fit: the target first, the draft gets the rest", () => {
    // Room for the whole target and a little more: the draft gets what is left.
    const justTarget = full(embedded.target) + embedded.draft.vramBytes[1]!;
    const s = assertSound(embedded, justTarget, "target + 1 draft layer");
    assert.deepEqual([s.target, s.draft, s.allFit], [embedded.target.totalLayers, 1, false]);
    assert.match(s.description, /does not fit .*target first, 9\/9 layers; draft 1\/3 layers/);
    // Less than the target alone: part of the target; the draft only what the target's next layer would not fit in.
    const half = assertSound(embedded, full(embedded.target) / 2, "half the target");
    assert.ok(half.target > 0 && half.target < embedded.target.totalLayers, String(half.target));
    // No VRAM at all: nothing offloaded.
    assert.deepEqual([splitGpuLayers(embedded, 0).target, splitGpuLayers(embedded, 0).draft], [0, 0]);
    for (let budget = 0; budget <= full(embedded.target) + full(embedded.draft); budget += 512 * 1024)
      assertSound(embedded, budget, `${budget} bytes`);
  });

  it(
    "the real pair (SmolLM2-135M draft, Gemma 3 270M target) on small GPUs",
    { skip: existsSync(REAL_DRAFT) && existsSync(REAL_TARGET) ? false : `no real models in ${REAL}` },
    async () => {
      const real = { draft: await costsOf(REAL_DRAFT), target: await costsOf(REAL_TARGET) };
      // A 2 GiB GPU holds both (after node-llama-cpp's padding).
      const twoGiB = 2 * 2 ** 30;
      assert.ok(splitGpuLayers(real, twoGiB - vramPadding(twoGiB)).allFit);
      // 1 GiB free: the whole target, and as many draft layers as fit in what it leaves.
      const oneGiB = splitGpuLayers(real, 2 ** 30);
      assert.equal(oneGiB.target, real.target.totalLayers);
      assert.ok(oneGiB.draft > 0 && oneGiB.draft < real.draft.totalLayers, String(oneGiB.draft));
      for (let budget = 0; budget <= full(real.target) + full(real.draft); budget += 16 * MiB) assertSound(real, budget, `${budget / MiB} MiB`);
    },
  );
});
