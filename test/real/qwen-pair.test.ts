import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { LlamaModel, Token } from "node-llama-cpp";
import { ArbitrageEngine, checkModelFile, defaultModelConfig, type ReasonResult } from "../../src/engine/index.js";
import { buildPrompt } from "../../src/engine/prompt.js";
import { contextOptions, loadLlama } from "../../src/engine/runtime.js";
import { insideCodeFence } from "../../src/engine/step-boundary.js";
import { QWEN_DRAFT, QWEN_TARGET } from "./helpers.js";

/**
 * The real same-family pair, Qwen2.5-Coder 0.5B -> 1.5B Instruct (Q4_K_M, one tokenizer): the
 * policy `auto` keeps the target alone on these cores, and batch verification (token-level
 * speculation, prefix reuse) agrees with the target's own greedy decoding — exactly, or, where
 * the texts part, at a near-tie of the target's own logits: quantized kernels compute a batch
 * with other numerics than one token at a time, and a cache written in a batch can tip a later
 * near-tie. A difference at a decisive token is a verification bug, and fails here.
 */
const QUESTIONS = [
  "Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May. How many clips did Natalia sell altogether in April and May?",
  "Weng earns $12 an hour for babysitting. Yesterday, she just did 50 minutes of babysitting. How much did she earn?",
];
const OPTIONS = { maxSteps: 2, maxTokensPerStep: 24, promptStyle: "math" as const };
/** The largest top-two logit gap at which a tipped token is a near-tie (the engine trusts batch predictions only above 2). */
const NEAR_TIE = 2;

/** The target's top-two logit gap after `prompt + text` (evaluated in one batch on a separate context). */
async function gapAt(model: LlamaModel, tokens: Token[], threads: number): Promise<number> {
  const check = await checkModelFile(QWEN_TARGET(), "target");
  const context = await model.createContext(contextOptions(check, { ...defaultModelConfig(), threads, contextSize: 1024 }));
  try {
    const seq = context.getSequence();
    const out = await seq.controlledEvaluate(
      tokens.map((t, i) => (i === tokens.length - 1 ? [t, { generateNext: { logits: { filter: { tokens: [], includeTop: 2 } } } }] : t)),
    );
    const top = [...(out.at(-1)?.next.logits?.values() ?? [])].sort((a, b) => b - a);
    return top[0]! - top[1]!;
  } finally {
    await context.dispose();
  }
}

for (const threads of [1, 2]) {
  describe(`real same-family pair, Qwen2.5-Coder 0.5B -> 1.5B, threads ${threads}`, () => {
    let engine: ArbitrageEngine;
    let model: LlamaModel;
    before(async () => {
      engine = await ArbitrageEngine.create({ draft: QWEN_DRAFT(), target: QWEN_TARGET(), threads, contextSize: 1024, router: "confidence" });
      const llama = await loadLlama("cpu", threads);
      model = await llama.loadModel({ modelPath: QWEN_TARGET(), gpuLayers: 0 });
    });
    after(async () => {
      await engine?.dispose();
      await model?.dispose();
    });

    it("shares one tokenizer, and auto runs the target alone, saying why", async () => {
      assert.equal(engine.info().sameTokenizer, true);
      assert.equal(engine.info().exactBatches, false);
      const r = await engine.reason(QUESTIONS[0]!, { ...OPTIONS, maxSteps: 1 });
      assert.equal(r.policy, "target", r.stats.choice?.reason);
      assert.match(r.stats.choice!.reason, /auto chose the target alone: the draft costs \d+% of the target/);
      // The router is not calibrated for this pair: routing is not offered, and the reason says how to change that.
      assert.match(r.stats.choice!.reason, /no routing \(the confidence router is not calibrated for this pair/);
      assert.ok(r.stats.callCosts?.target && r.stats.callCosts.draft, "both models' costs were measured");
    });

    /** Where `other` parts from the target's own text, the target's choice there was a near-tie. */
    async function agreesUpToNearTies(reference: ReasonResult, other: ReasonResult, label: string, question: string): Promise<void> {
      if (other.text === reference.text) return;
      const check = await checkModelFile(QWEN_TARGET(), "target");
      const prompt = buildPrompt(model, check, question, OPTIONS.promptStyle).tokens;
      const ref = model.tokenize(reference.text, false, "trimLeadingSpace");
      let k = 0;
      while (k < ref.length && other.text.startsWith(model.detokenize(ref.slice(0, k + 1)))) k++;
      const gap = await gapAt(model, [...prompt, ...ref.slice(0, k)], threads);
      assert.ok(
        gap < NEAR_TIE,
        `${label} parts from the target's text after ${JSON.stringify(model.detokenize(ref.slice(0, k)).slice(-60))} where the target's top-two gap is ${gap.toFixed(3)} (not a near-tie): a verification bug`,
      );
    }

    if (threads === 1) {
      it("keeps a fenced code block in one step: a blank line inside it is no step boundary", async () => {
        const r = await engine.reason(
          "Write two Python functions, add(a, b) and mul(a, b), in one code block, with a blank line between them. No explanation.",
          { policy: "target", promptStyle: "code", maxSteps: 3, maxTokensPerStep: 120 },
        );
        const fenced = r.steps.find((s) => s.text.includes("```"));
        assert.ok(fenced, `a step holds the code block: ${JSON.stringify(r.text)}`);
        assert.ok(
          r.steps.every((s) => s.endedBy !== "delimiter" || !insideCodeFence(s.text)),
          "no step ends inside a fence",
        );
        assert.match(fenced.text, /def add[\s\S]*\n\n[\s\S]*def mul/, "both functions, and the blank line between them, in one step");
      });
    }

    for (const question of QUESTIONS) {
      it(`token speculation and prefix reuse agree with the target: ${question.slice(0, 40)}…`, async () => {
        const target = await engine.reason(question, { ...OPTIONS, policy: "target" });
        const speculative = await engine.reason(question, { ...OPTIONS, policy: "speculative", draftTokens: 4 });
        assert.ok(speculative.stats.verification.rounds > 0, "the target checked draft proposals in batches");
        await agreesUpToNearTies(target, speculative, "speculative", question);
        // Threshold 0: every draft step goes to the target, which first checks the rejected step as a proposal (prefix reuse).
        const reuse = await engine.reason(question, { ...OPTIONS, policy: "arbitrage", threshold: 0 });
        assert.ok(reuse.steps.every((s) => s.model === "target"));
        assert.ok(reuse.stats.verification.rounds > 0, "the rejected draft steps were checked in batches");
        await agreesUpToNearTies(target, reuse, "prefix reuse", question);
        for (const [role, s] of Object.entries(engine.cacheState())) assert.ok(s.consistent, `${role}: the cache is a prefix of the committed text`);
      });
    }
  });
}
