import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { BENCH_POLICIES, planMethods } from "../../src/bench/methods.js";

/** Which methods the bench runs on which pair: no method runs with a judge that means nothing there. */
const ids = (p: ReturnType<typeof planMethods>) => p.methods.map((m) => m.id);
/** The default token-level speculation rows (k = 2, 4, 8). */
const SPEC = ["speculative-k2", "speculative-k4", "speculative-k8"];
const skippedLabels = (p: ReturnType<typeof planMethods>) => p.skipped.map((s) => s.label).sort();

describe("bench methods per pair", () => {
  it("embedded pair, arithmetic set: every method, nothing skipped", () => {
    const p = planMethods(BENCH_POLICIES, "embedded", "embedded", { embeddedPair: true, exactApplies: true });
    assert.deepEqual(ids(p), ["target", "draft", ...SPEC, "rsd-prm", "rsd-exact", "arbitrage", "arbitrage-confidence", "arbitrage+spec", "oracle"]);
    assert.equal(p.methods.find((m) => m.id === "oracle")!.scorer, "exact");
    assert.deepEqual(p.skipped, []);
    assert.deepEqual(p.notes, []);
  });

  it("embedded pair, non-arithmetic set: no exact checker, the oracle uses the learned PRM", () => {
    const p = planMethods(BENCH_POLICIES, "embedded", "embedded", { embeddedPair: true, exactApplies: false });
    assert.deepEqual(ids(p), ["target", "draft", ...SPEC, "rsd-prm", "arbitrage", "arbitrage-confidence", "arbitrage+spec", "oracle"]);
    assert.equal(p.methods.find((m) => m.id === "oracle")!.scorer, "embedded");
    assert.deepEqual(skippedLabels(p), ["rsd (exact checker)"]);
  });

  it("another pair, defaults: confidence arbitrage only; rsd and oracle skipped with reasons", () => {
    for (const exactApplies of [true, false]) {
      const p = planMethods(BENCH_POLICIES, "embedded", "embedded", { embeddedPair: false, exactApplies });
      assert.deepEqual(ids(p), ["target", "draft", ...SPEC, "arbitrage", "arbitrage+spec"], `exactApplies ${exactApplies}`);
      const arb = p.methods.find((m) => m.id === "arbitrage")!;
      assert.equal(arb.router, "confidence");
      assert.equal(arb.label, "arbitrage (confidence)");
      assert.deepEqual(skippedLabels(p), ["oracle", "rsd (exact checker)", "rsd (learned PRM)"]);
      assert.match(p.skipped.find((s) => s.label === "rsd (exact checker)")!.reason, exactApplies ? /step format/ : /not every question/);
      assert.match(p.notes.join(" "), /confidence router/);
    }
  });

  it("another pair with --scorer exact: used on an arithmetic set, skipped (not crashed) on any other", () => {
    const yes = planMethods(BENCH_POLICIES, "embedded", "exact", { embeddedPair: false, exactApplies: true });
    assert.deepEqual(ids(yes), ["target", "draft", ...SPEC, "rsd-prm", "arbitrage", "arbitrage+spec", "oracle"]);
    assert.equal(yes.methods.find((m) => m.id === "rsd-prm")!.label, "rsd (exact checker)");
    assert.equal(yes.methods.find((m) => m.id === "oracle")!.scorer, "exact");
    assert.deepEqual(yes.skipped, []);
    const no = planMethods(BENCH_POLICIES, "embedded", "exact", { embeddedPair: false, exactApplies: false });
    assert.deepEqual(ids(no), ["target", "draft", ...SPEC, "arbitrage", "arbitrage+spec"]);
    assert.deepEqual(skippedLabels(no), ["oracle", "rsd (exact checker)"]);
  });

  it("another pair with a PRM and a router file: both used, the confidence router alongside", () => {
    const p = planMethods(BENCH_POLICIES, { path: "/m/router.gguf" }, { path: "/m/prm.gguf" }, { embeddedPair: false, exactApplies: false });
    assert.deepEqual(ids(p), ["target", "draft", ...SPEC, "rsd-prm", "arbitrage", "arbitrage-confidence", "arbitrage+spec", "oracle"]);
    assert.deepEqual(p.methods.find((m) => m.id === "oracle")!.scorer, { path: "/m/prm.gguf" });
    assert.deepEqual(skippedLabels(p), ["rsd (exact checker)"]);
    assert.deepEqual(p.notes, []);
  });

  it("token-level speculation: speculative at each k, the +spec variants only where asked, with their options", () => {
    const facts = { embeddedPair: true, exactApplies: true };
    const p = planMethods(BENCH_POLICIES, "embedded", "embedded", facts, { draftTokens: [3], combine: ["arbitrage", "rsd"], combineDraftTokens: 5 });
    const spec = p.methods.find((m) => m.id === "speculative-k3")!;
    assert.deepEqual([spec.policy, spec.swept, spec.options, spec.label], ["speculative", false, { draftTokens: 3 }, "speculative (k=3)"]);
    for (const id of ["arbitrage+spec", "rsd+spec"] as const) {
      const m = p.methods.find((x) => x.id === id)!;
      assert.deepEqual(m.options, { tokenSpeculation: true, draftTokens: 5 }, id);
      assert.equal(m.swept, true);
      assert.match(m.label, /\+ token spec \(k=5\)$/);
    }
    const none = planMethods(BENCH_POLICIES, "embedded", "embedded", facts, { draftTokens: [2], combine: [], combineDraftTokens: 4 });
    assert.ok(!ids(none).some((id) => id.endsWith("+spec")));
    // rsd+spec needs a valid scorer, as rsd does.
    const other = planMethods(
      BENCH_POLICIES,
      "embedded",
      "embedded",
      { embeddedPair: false, exactApplies: false },
      { draftTokens: [2], combine: ["rsd"], combineDraftTokens: 4 },
    );
    assert.ok(skippedLabels(other).includes("rsd (learned PRM) + token spec (k=4)"));
  });
});
