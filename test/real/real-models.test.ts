import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ArbitrageEngine, EngineEvent, ReasonResult } from "../../src/engine/index.js";
import { sharedEngine } from "../engine/helpers.js";
import { GEMMA, REAL_OPTIONS, SMOL, plainGreedyTokens, realConfig, tokensOf } from "./helpers.js";

/**
 * The product on real published models: SmolLM2-135M-Instruct (Q4_1, ChatML chat template, 49k
 * BPE vocab) as the draft and Gemma 3 270M (Q4_K_M, base model without a chat template, 262k
 * SentencePiece vocab) as the target — two tokenizers, two prompt formats, K-quant kernels.
 */
const QUESTIONS = ["What is 12+7?", "Tom has 3 apples and buys 5 more. How many apples does he have now?", "What is 6 times 7?"];

function checkMeters(engine: ArbitrageEngine, r: ReasonResult, label: string): void {
  const speculative = { draft: r.stats.draftTokensDiscarded, target: r.stats.targetVerifyWasted + r.stats.targetTokensDiscarded };
  // A step dropped past the end of the answer was evaluated and not committed: it counts as discarded.
  const discarded = { draft: r.stats.meters.draft.discarded, target: r.stats.meters.target.discarded };
  for (const role of ["draft", "target"] as const) {
    const m = r.stats.meters[role];
    assert.ok(
      m.evaluated <= m.committed + r.stats.steps + Math.max(speculative[role], discarded[role]),
      `${label} ${role}: evaluated ${m.evaluated} <= committed ${m.committed} + steps ${r.stats.steps} + speculative ${speculative[role]}`,
    );
  }
  for (const [role, s] of Object.entries(engine.cacheState()))
    assert.ok(s.consistent, `${label} ${role}: the cache is a prefix of the committed text`);
}

describe("real models: SmolLM2 draft, Gemma 3 target (different tokenizers and templates)", () => {
  const engine = sharedEngine(realConfig(SMOL(), GEMMA()));

  it("loads both and reports the tokenizers differ", () => {
    const info = engine().info();
    assert.equal(info.sameTokenizer, false);
    assert.equal(info.draft.architecture, "llama");
    assert.equal(info.target.architecture, "gemma3");
    assert.ok(info.warnings.some((w) => /tokenizers differ/.test(w)));
  });

  for (const [role, path] of [
    ["draft", SMOL],
    ["target", GEMMA],
  ] as const) {
    it(`${role} policy is byte-identical to node-llama-cpp's greedy completion of the same prompt (${role === "draft" ? "ChatML template" : "raw base-model prompt"})`, async () => {
      for (const q of QUESTIONS) {
        const r = await engine().reason(q, { ...REAL_OPTIONS, policy: role });
        assert.ok(r.steps.length >= 1 && r.steps.every((s) => s.model === role));
        const expected = await plainGreedyTokens(path(), q, tokensOf(r) + 24);
        if (r.finishReason === "eos" && r.steps.at(-1)?.endedBy === "eos") {
          assert.equal(r.text, expected, `${role} ${q}: ended by the template's end-of-turn token`);
        } else if (r.finishReason === "eos") {
          // The base model went on to a new "Question:": the answer is everything before it.
          assert.ok(expected.startsWith(r.text), `${role} ${q}: ${JSON.stringify(r.text)} is a prefix of ${JSON.stringify(expected)}`);
          assert.match(expected.slice(r.text.length), /^\s*Question:/);
        } else {
          assert.equal(r.finishReason, "max-steps");
          assert.ok(expected.startsWith(r.text), `${role} ${q}: ${JSON.stringify(r.text)} vs ${JSON.stringify(expected)}`);
        }
        checkMeters(engine(), r, `${role} ${q}`);
      }
    });
  }

  it("arbitrage with the confidence router: threshold 0 equals target, threshold 1 equals draft", async () => {
    for (const q of QUESTIONS) {
      const target = await engine().reason(q, { ...REAL_OPTIONS, policy: "target" });
      const draft = await engine().reason(q, { ...REAL_OPTIONS, policy: "draft" });
      const all = await engine().reason(q, { ...REAL_OPTIONS, policy: "arbitrage", threshold: 0 });
      assert.equal(all.text, target.text, `threshold 0, ${q}`);
      assert.ok(all.steps.every((s) => s.model === "target"));
      checkMeters(engine(), all, `@0 ${q}`);
      const none = await engine().reason(q, { ...REAL_OPTIONS, policy: "arbitrage", threshold: 1 });
      assert.ok(
        none.steps.every((s) => (s.routerScore ?? 0) < 1),
        "no router score reaches 1",
      );
      assert.equal(none.text, draft.text, `threshold 1, ${q}`);
      assert.equal(none.stats.meters.target.evaluated, 0, "the target never runs");
      checkMeters(engine(), none, `@1 ${q}`);
    }
  });

  it("answers mix steps of both models, re-tokenised across vocabularies, with the meters' invariant", async () => {
    // The confidence router's default weights were fitted on the embedded pair: on this pair its scores sit
    // near 1 (calibration is its own issue), so the thresholds come from the scores it gives here.
    let mixed = 0;
    for (const q of QUESTIONS) {
      const draftOnly = await engine().reason(q, { ...REAL_OPTIONS, policy: "arbitrage", threshold: 1 });
      const scores = draftOnly.steps.map((s) => s.routerScore!).sort((a, b) => a - b);
      const between = scores
        .slice(1)
        .map((s, i) => (s + scores[i]!) / 2)
        .filter((t) => t > scores[0]!);
      for (const threshold of new Set([...between, (scores[0]! + 1) / 2])) {
        const r = await engine().reason(q, { ...REAL_OPTIONS, policy: "arbitrage", threshold });
        checkMeters(engine(), r, `@${threshold} ${q}`);
        if (r.stats.stepsByModel.draft > 0 && r.stats.stepsByModel.target > 0) mixed++;
        for (const s of r.steps) assert.ok(s.routerScore !== undefined && s.routerScore >= 0 && s.routerScore <= 1);
      }
    }
    assert.ok(mixed >= 1, `at least one answer has steps of both models (got ${mixed})`);
  });

  it("a cancelled request leaves both caches consistent, and the rerun is identical", async () => {
    const q = QUESTIONS[1]!;
    const plain = await engine().reason(q, { ...REAL_OPTIONS, policy: "arbitrage", threshold: 0.4 });
    for (const cancelAfter of [1, 3, 6, 12]) {
      const controller = new AbortController();
      let tokens = 0;
      const onEvent = (e: EngineEvent) => {
        if (e.type === "token" && ++tokens === cancelAfter) controller.abort();
      };
      const r = await engine()
        .reason(q, { ...REAL_OPTIONS, policy: "arbitrage", threshold: 0.4 }, { onEvent, signal: controller.signal })
        .catch((e: unknown) => e);
      if (!(r instanceof Error)) assert.equal((r as ReasonResult).finishReason, "cancelled", `cancelled after ${cancelAfter} tokens`);
      for (const [role, s] of Object.entries(engine().cacheState())) assert.ok(s.consistent, `after cancel at ${cancelAfter}: ${role}`);
      const again = await engine().reason(q, { ...REAL_OPTIONS, policy: "arbitrage", threshold: 0.4 });
      assert.deepEqual(
        again.steps.map((s) => [s.model, s.text]),
        plain.steps.map((s) => [s.model, s.text]),
        `rerun after cancel at ${cancelAfter}`,
      );
    }
  });

  it("a step that never reaches the delimiter is cut by the per-step token cap; the answer still continues", async () => {
    const r = await engine().reason(QUESTIONS[0]!, {
      ...REAL_OPTIONS,
      policy: "target",
      stepDelimiter: "\u0000never",
      maxTokensPerStep: 6,
      maxSteps: 3,
    });
    assert.equal(r.steps.length, 3);
    assert.ok(
      r.steps.every((s) => s.endedBy === "token-cap" && s.tokens === 6),
      JSON.stringify(r.steps.map((s) => [s.endedBy, s.tokens])),
    );
    const expected = await plainGreedyTokens(GEMMA(), QUESTIONS[0]!, 18);
    assert.equal(r.text, expected, "three capped steps are the greedy continuation");
  });

  it("the instruct model's end-of-turn token ends the answer", async () => {
    const r = await engine().reason(QUESTIONS[0]!, { ...REAL_OPTIONS, policy: "draft", maxSteps: 20, maxTokensPerStep: 80 });
    assert.equal(r.finishReason, "eos");
    assert.equal(r.steps.at(-1)!.endedBy, "eos");
    assert.ok(!r.text.includes("<|im_end|>"), "the end-of-turn token is not part of the text");
    assert.notEqual(r.answer, null, "a final answer is extracted");
  });

  it("a question longer than the real context is refused with a clear error", async () => {
    const long = "What is 1+1? ".repeat(200);
    await assert.rejects(engine().reason(long, REAL_OPTIONS), (e: Error & { code?: string }) => {
      assert.equal(e.code, "question-too-long");
      assert.match(e.message, /tokens, but the (draft|target) model's context holds 512/);
      return true;
    });
    const ok = await engine().reason(QUESTIONS[0]!, { ...REAL_OPTIONS, policy: "draft" });
    assert.ok(ok.steps.length >= 1, "the engine still answers afterwards");
  });
});

describe("real models: prefix reuse on quantized weights (SmolLM2 as draft and target)", () => {
  const engine = sharedEngine(realConfig(SMOL(), SMOL()));

  it("reuse on and off give identical target steps, and the target's generated tokens drop by the reused count", async () => {
    assert.equal(engine().info().sameTokenizer, true);
    let reused = 0;
    let generatedWith = 0;
    let generatedWithout = 0;
    let committedTarget = 0;
    for (const q of QUESTIONS) {
      const withReuse = await engine().reason(q, { ...REAL_OPTIONS, policy: "arbitrage", threshold: 0, prefixReuse: true });
      const without = await engine().reason(q, { ...REAL_OPTIONS, policy: "arbitrage", threshold: 0, prefixReuse: false });
      assert.deepEqual(
        withReuse.steps.map((s) => s.text),
        without.steps.map((s) => s.text),
        q,
      );
      reused += withReuse.stats.targetTokensReused;
      generatedWith += withReuse.stats.meters.target.generated;
      generatedWithout += without.stats.meters.target.generated;
      committedTarget += withReuse.stats.tokensByModel.target;
    }
    // The same weights: most of each rejected draft step is what the target writes, so most of it is reused
    // (what is not: near-ties the batch cannot decide, re-evaluated one token at a time).
    assert.ok(reused >= 0.5 * committedTarget, `reused ${reused} of ${committedTarget} target tokens`);
    assert.equal(generatedWithout - generatedWith, reused, "every reused token is one the target did not generate");
  });

  it("token-level speculation on quantized weights (margin rule) writes byte-identical text to the target, k = 2 and 8", async () => {
    let accepted = 0;
    let proposed = 0;
    for (const q of QUESTIONS) {
      const target = await engine().reason(q, { ...REAL_OPTIONS, policy: "target" });
      for (const draftTokens of [2, 8]) {
        const spec = await engine().reason(q, { ...REAL_OPTIONS, policy: "speculative", draftTokens });
        const label = `${q} k=${draftTokens}`;
        assert.deepEqual(
          spec.steps.map((s) => s.text),
          target.steps.map((s) => s.text),
          label,
        );
        const v = spec.stats.verification;
        assert.ok(v.rounds > 0 && v.freshAccepted <= v.freshProposed, `${label}: ${JSON.stringify(v)}`);
        assert.equal(spec.stats.meters.target.generated + v.accepted, target.stats.meters.target.generated, `${label}: decoded or accepted`);
        accepted += v.freshAccepted;
        proposed += v.freshProposed;
        checkMeters(engine(), spec, label);
      }
    }
    // The same weights propose what the target writes, but on this small Q4 model many tokens are near-ties (top-two
    // logit gap under the margin) that a batch cannot decide: they are settled one token at a time instead
    // (measured: 168 of 1135 proposals kept). The text stays the target's either way.
    assert.ok(accepted > 0, `accepted ${accepted} of ${proposed} proposed tokens`);
  });
});

describe("real models: token-level speculation needs a shared tokenizer (SmolLM2 draft, Gemma 3 target)", () => {
  const engine = sharedEngine(realConfig(SMOL(), GEMMA()));

  it("falls back to the target alone with a warning that says why; the text is the target's", async () => {
    const q = QUESTIONS[0]!;
    const target = await engine().reason(q, { ...REAL_OPTIONS, policy: "target" });
    const spec = await engine().reason(q, { ...REAL_OPTIONS, policy: "speculative" });
    assert.deepEqual(
      spec.steps.map((s) => s.text),
      target.steps.map((s) => s.text),
    );
    assert.equal(spec.stats.verification.rounds, 0);
    assert.equal(spec.stats.meters.draft.evaluated, 0, "the draft never runs");
    assert.ok(
      spec.notices?.some((w) => /Token-level speculation is off for this request: the draft and target tokenizers differ/.test(w)),
      JSON.stringify(spec.notices),
    );
  });
});
