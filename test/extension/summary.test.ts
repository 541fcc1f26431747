// summarize / targetMsPerTokenOf / formatSpeedup: the run summary the panel, the status bar and
// the chat participant show (estimated speedup = committed tokens × target ms/token ÷ wall time).
import assert from "node:assert/strict";
import { test } from "node:test";
import type { ModelMeter, ReasonResult } from "../../src/engine/types.js";
import { formatMs, formatSpeedup, percent, summarize, targetMsPerTokenOf } from "../../src/extension/summary.js";
import { sharedEngine } from "../engine/helpers.js";

const engine = sharedEngine();

const meter = (over: Partial<ModelMeter> = {}): ModelMeter => ({ generated: 0, evaluated: 0, discarded: 0, committed: 0, ms: 0, ...over });

function result(over: { draftSteps?: number; targetSteps?: number; draftTokens?: number; targetTokens?: number; wallMs?: number; target?: Partial<ModelMeter> }): ReasonResult {
  const { draftSteps = 0, targetSteps = 0, draftTokens = 0, targetTokens = 0, wallMs = 0 } = over;
  return {
    question: "q", policy: "arbitrage", threshold: 0.3, steps: [], text: "", answer: null, finishReason: "eos",
    stats: {
      steps: draftSteps + targetSteps, stepsByModel: { draft: draftSteps, target: targetSteps }, tokensByModel: { draft: draftTokens, target: targetTokens },
      draftTokensDiscarded: 0, targetTokensDiscarded: 0, targetTokensReused: 0, targetVerifyWasted: 0, routerCalls: 0, routerMs: 0, scorerCalls: 0, scorerMs: 0,
      meters: { draft: meter(), target: meter(over.target) }, wallMs, overheadMs: 0,
    },
  };
}

test("the speedup estimate uses the target's speed measured in this run", () => {
  // 20 target tokens through the target in 200 ms: 10 ms/token; 40 committed tokens -> 400 ms target-only.
  const s = summarize(result({ draftSteps: 3, targetSteps: 1, draftTokens: 30, targetTokens: 10, wallMs: 1000, target: { evaluated: 20, generated: 10, ms: 200 } }), 99);
  assert.deepEqual(s, {
    steps: 4, draftSteps: 3, targetSteps: 1, draftShare: 0.75, targetShare: 0.25, tokens: 40, draftTokens: 30, targetTokens: 10, wallMs: 1000,
    tokensPerSecond: 40, targetMsPerToken: 10, targetOnlyMs: 400, speedup: 0.4,
  });
});

test("fewer than 8 target tokens: the speed from earlier runs is used, and without one there is no estimate", () => {
  const r = result({ draftSteps: 2, draftTokens: 50, wallMs: 500, target: { evaluated: 7, generated: 7, ms: 70 } });
  assert.equal(targetMsPerTokenOf(r), null);
  const known = summarize(r, 20);
  assert.equal(known.targetMsPerToken, null);
  assert.equal(known.targetOnlyMs, 1000);
  assert.equal(known.speedup, 2);
  const none = summarize(r);
  assert.equal(none.targetOnlyMs, null);
  assert.equal(none.speedup, null);
  assert.equal(formatSpeedup(none.speedup), "n/a");
});

test("an empty or instant run gives zeros, never NaN or Infinity", () => {
  const s = summarize(result({}), 5);
  assert.equal(s.draftShare, 0);
  assert.equal(s.targetShare, 0);
  assert.equal(s.tokensPerSecond, 0);
  assert.equal(s.targetOnlyMs, null, "no tokens: nothing to estimate");
  assert.equal(s.speedup, null);
  const instant = summarize(result({ draftSteps: 1, draftTokens: 4, wallMs: 0 }), 5);
  assert.equal(instant.tokensPerSecond, 0);
  assert.equal(instant.speedup, null);
  assert.equal(targetMsPerTokenOf(result({ target: { evaluated: 100, ms: 0 } })), null, "a target that took no time has no speed");
});

test("a real run's summary agrees with its steps", async () => {
  const r = await engine().reason("48-19+7*6", { maxSteps: 12, threshold: 0.3 });
  const s = summarize(r, null);
  const of = (m: "draft" | "target") => r.steps.filter((x) => x.model === m);
  assert.equal(s.steps, r.steps.length);
  assert.equal(s.draftSteps, of("draft").length);
  assert.equal(s.targetSteps, of("target").length);
  assert.equal(s.draftTokens, of("draft").reduce((a, x) => a + x.tokens, 0));
  assert.equal(s.targetTokens, of("target").reduce((a, x) => a + x.tokens, 0));
  assert.ok(Math.abs(s.draftShare + s.targetShare - 1) < 1e-12);
  assert.ok(s.tokensPerSecond > 0 && Number.isFinite(s.tokensPerSecond));
});

test("formatting: speedup, durations, percentages", () => {
  assert.equal(formatSpeedup(1.234), "1.2×");
  assert.equal(formatSpeedup(12.6), "13×");
  assert.equal(formatMs(999.4), "999 ms");
  assert.equal(formatMs(1234), "1.23 s");
  assert.equal(formatMs(12_345), "12.3 s");
  assert.equal(percent(0.755), "76%");
});
