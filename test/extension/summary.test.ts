// summarize / targetMsPerTokenOf / formatSpeedup: the run summary the panel, the status bar and
// the chat participant show (estimated speedup = committed tokens × target ms per generated token,
// measured where the target mostly generated, ÷ wall time).
import assert from "node:assert/strict";
import { test } from "node:test";
import type { ModelMeter, ReasonResult } from "../../src/engine/types.js";
import { readFileSync } from "node:fs";
import { formatMs, formatSpeedup, percent, speedupText, summarize, targetMsPerTokenOf } from "../../src/protocol/summary.js";
import { sharedEngine } from "../engine/helpers.js";

const engine = sharedEngine();

const meter = (over: Partial<ModelMeter> = {}): ModelMeter => ({ generated: 0, evaluated: 0, discarded: 0, committed: 0, ms: 0, ...over });

function result(over: {
  draftSteps?: number;
  targetSteps?: number;
  draftTokens?: number;
  targetTokens?: number;
  wallMs?: number;
  target?: Partial<ModelMeter>;
}): ReasonResult {
  const { draftSteps = 0, targetSteps = 0, draftTokens = 0, targetTokens = 0, wallMs = 0 } = over;
  return {
    question: "q",
    policy: "arbitrage",
    threshold: 0.3,
    steps: [],
    text: "",
    answer: null,
    finishReason: "eos",
    stats: {
      steps: draftSteps + targetSteps,
      stepsByModel: { draft: draftSteps, target: targetSteps },
      tokensByModel: { draft: draftTokens, target: targetTokens },
      draftTokensDiscarded: 0,
      targetTokensDiscarded: 0,
      targetTokensReused: 0,
      targetVerifyWasted: 0,
      verification: { rounds: 0, proposed: 0, accepted: 0, freshProposed: 0, freshAccepted: 0 },
      routerCalls: 0,
      routerMs: 0,
      scorerCalls: 0,
      scorerMs: 0,
      meters: { draft: meter(), target: meter(over.target) },
      wallMs,
      overheadMs: 0,
    },
  };
}

test("the speedup estimate uses the target's speed per generated token, measured in this run", () => {
  // The target generated 12 of the 20 tokens it evaluated, in 240 ms: 20 ms per generated token; 40 committed tokens -> 800 ms target-only.
  const s = summarize(
    result({ draftSteps: 3, targetSteps: 1, draftTokens: 30, targetTokens: 10, wallMs: 1000, target: { evaluated: 20, generated: 12, ms: 240 } }),
    99,
  );
  assert.deepEqual(s, {
    steps: 4,
    draftSteps: 3,
    targetSteps: 1,
    draftShare: 0.75,
    targetShare: 0.25,
    tokens: 40,
    draftTokens: 30,
    targetTokens: 10,
    wallMs: 1000,
    tokensPerSecond: 40,
    targetMsPerToken: 20,
    targetOnlyMs: 800,
    speedup: 0.8,
  });
  assert.equal(speedupText(s), "0.8× (estimate)");
});

test("a target that mostly checked tokens in batches (prefix reuse) gives no speed: the earlier one is used, or none", () => {
  const r = result({
    draftSteps: 3,
    targetSteps: 1,
    draftTokens: 30,
    targetTokens: 10,
    wallMs: 1000,
    target: { evaluated: 45, generated: 12, ms: 100 },
  });
  assert.equal(targetMsPerTokenOf(r), null);
  assert.equal(summarize(r, 20).speedup, 0.8);
  assert.equal(summarize(r).speedup, null);
  assert.match(speedupText(summarize(r)), /^n\/a until the target's speed is measured/);
});

/** Real runs on the embedded pair, one engine, 1 thread (test/fixtures/record-speedup-runs.ts). */
const recorded = (
  JSON.parse(readFileSync(new URL("../fixtures/speedup-runs.json", import.meta.url), "utf8")) as { runs: (ReasonResult & { cold: boolean })[] }
).runs;
const targetRuns = recorded.filter((r) => r.policy === "target");
const arbitrageRuns = recorded.filter((r) => r.policy === "arbitrage");

test("recorded target-only runs: the estimate says ~1x (the old per-evaluated-token estimate said 0.64-0.68x)", () => {
  assert.ok(targetRuns.length >= 3);
  for (const r of targetRuns) {
    const s = summarize(r);
    assert.ok(s.speedup !== null && s.speedup > 0.9 && s.speedup <= 1.0, `${r.question}: ${s.speedup}`);
    // What the panel used to show: committed tokens × target ms per evaluated token (prompt included) ÷ wall.
    const m = r.stats.meters.target;
    const old = (s.tokens * (m.ms / Math.max(m.evaluated, m.generated))) / r.stats.wallMs;
    assert.ok(old < 0.7, `${r.question}: old estimate ${old}`);
  }
});

test("recorded arbitrage runs: no speed of their own; with the same question's target-only speed the estimate predicts that run's wall time", () => {
  assert.ok(arbitrageRuns.length >= 3);
  for (const r of arbitrageRuns) {
    assert.equal(
      targetMsPerTokenOf(r),
      null,
      `${r.question}: the target generated ${r.stats.meters.target.generated} of ${r.stats.meters.target.evaluated}`,
    );
    assert.equal(summarize(r).speedup, null);
    const alone = targetRuns.find((t) => t.question === r.question)!;
    const s = summarize(r, targetMsPerTokenOf(alone));
    // Same question, the same answer length: the estimated target-only time is the measured one within 10%.
    const ratio = s.targetOnlyMs! / alone.stats.wallMs;
    assert.ok(ratio > 0.9 && ratio < 1.1, `${r.question}: estimated ${s.targetOnlyMs} vs measured ${alone.stats.wallMs}`);
  }
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
  assert.equal(
    s.draftTokens,
    of("draft").reduce((a, x) => a + x.tokens, 0),
  );
  assert.equal(
    s.targetTokens,
    of("target").reduce((a, x) => a + x.tokens, 0),
  );
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
