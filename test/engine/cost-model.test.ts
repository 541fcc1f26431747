import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CallLog } from "../../src/engine/cost/call-log.js";
import { CHOICE_MARGIN, chooseMethod, routedMsPerToken, speculativeMsPerToken, tokensPerRound } from "../../src/engine/cost/method-choice.js";
import { PAPER_PROJECTION, predictRunMs, projectedCosts } from "../../src/engine/cost/predict.js";
import type { PairCost, PairRates } from "../../src/engine/cost/types.js";
import { sharedEngine } from "./helpers.js";

const cost = (draft: [number, number], target: [number, number], routerMs: number | null = null): PairCost => ({
  draft: { decodeMs: draft[0], batchTokenMs: draft[1], decodeCalls: 8, batchTokens: 32 },
  target: { decodeMs: target[0], batchTokenMs: target[1], decodeCalls: 8, batchTokens: 32 },
  routerMs,
  source: "probe",
});
const rates = (r: Partial<PairRates>): PairRates => ({
  keepShare: null,
  keepThreshold: null,
  acceptance: null,
  reuseShare: null,
  stepTokens: 32,
  source: "test",
  ...r,
});

describe("cost model: fitting call costs", () => {
  it("separates a decoded token's cost from a batch's further tokens", () => {
    const log = new CallLog();
    for (let i = 0; i < 4; i++) log.record(1, 10);
    log.record(9, 10 + 8 * 2);
    log.record(33, 10 + 32 * 2);
    const c = log.cost()!;
    assert.equal(c.decodeMs, 10);
    assert.ok(Math.abs(c.batchTokenMs - 2) < 1e-9, `batch token ${c.batchTokenMs}`);
    assert.equal(new CallLog().cost(), null, "no figure before any call");
  });

  it("round-trips a cost through a log", () => {
    const c = CallLog.from({ decodeMs: 38, batchTokenMs: 14, decodeCalls: 100, batchTokens: 640 }).cost()!;
    assert.ok(Math.abs(c.decodeMs - 38) < 1e-9 && Math.abs(c.batchTokenMs - 14) < 1e-9);
  });
});

describe("cost model: choosing the method", () => {
  // llama-server's figures for Qwen2.5-Coder 0.5B -> 1.5B on 2 cores at 2 threads (draft 26.5, target 38.2 ms/token).
  const qwen2 = cost([26.5, 6], [38.2, 14]);
  // The embedded pair: the target costs about 7 times the draft per token.
  const embedded = cost([0.35, 0.08], [2.5, 0.6], 0.7);

  it("runs the target alone where the draft costs nearly as much per token", () => {
    const c = chooseMethod({
      cost: qwen2,
      rates: rates({ keepShare: 0.6, keepThreshold: 0.3, acceptance: 0.74 }),
      speculation: true,
      routing: true,
      threshold: 0.3,
      draftTokens: 8,
    });
    assert.equal(c.policy, "target", c.reason);
    assert.ok(c.predictedMsPerToken.speculative! > 38.2 && c.predictedMsPerToken.arbitrage! > 38.2, JSON.stringify(c.predictedMsPerToken));
    assert.match(c.reason, /target alone/);
  });

  it("routes where the target is dear and the router keeps most steps", () => {
    const c = chooseMethod({
      cost: embedded,
      rates: rates({ keepShare: 0.78, keepThreshold: 0.3, acceptance: 0.92, stepTokens: 8 }),
      speculation: true,
      routing: true,
      threshold: 0.3,
      draftTokens: 8,
    });
    assert.equal(c.policy, "arbitrage", c.reason);
    assert.ok(c.predictedMsPerToken.arbitrage! <= CHOICE_MARGIN * 2.5);
  });

  it("never routes without a router fitted to the pair or a measured keep share; reads the share at the measured threshold", () => {
    const r = rates({ keepShare: 0.9, keepThreshold: 0.3, acceptance: 0.1, stepTokens: 8 });
    const unfitted = chooseMethod({ cost: embedded, rates: r, speculation: true, routing: "not calibrated", threshold: 0.3, draftTokens: 8 });
    assert.notEqual(unfitted.policy, "arbitrage");
    assert.equal(unfitted.predictedMsPerToken.arbitrage, undefined);
    const unmeasured = chooseMethod({
      cost: embedded,
      rates: rates({ acceptance: 0.1 }),
      speculation: true,
      routing: true,
      threshold: 0.3,
      draftTokens: 8,
    });
    assert.notEqual(unmeasured.policy, "arbitrage");
    assert.match(unmeasured.reason, /never measured/);
    // A threshold moved off the measured one still routes where routing pays: the share is read where it was measured, and said so.
    const moved = chooseMethod({ cost: embedded, rates: r, speculation: true, routing: true, threshold: 0.22, draftTokens: 8 });
    assert.equal(moved.policy, "arbitrage", moved.reason);
    assert.match(moved.reason, /kept at 0\.3, the measured threshold/);
  });

  it("picks token speculation where routing cannot run and acceptance is high, with the best round size", () => {
    const c = chooseMethod({
      cost: embedded,
      rates: rates({ acceptance: 0.92, stepTokens: 8 }),
      speculation: true,
      routing: "no router",
      threshold: 0.3,
      draftTokens: 8,
    });
    assert.equal(c.policy, "speculative", c.reason);
    for (let k = 1; k <= 8; k++) assert.ok(speculativeMsPerToken(embedded, 0.92, k, 8) >= c.predictedMsPerToken.speculative! - 1e-12);
    const none = chooseMethod({
      cost: embedded,
      rates: null,
      speculation: "the tokenizers differ",
      routing: "no router",
      threshold: 0.3,
      draftTokens: 8,
    });
    assert.equal(none.policy, "target");
    assert.match(none.reason, /tokenizers differ/);
  });

  it("keeps the target unless another method is predicted clearly faster", () => {
    // A draft at 80% of the target's cost: speculation with perfect acceptance is still not 10% faster.
    const close = cost([8, 1], [10, 9]);
    const c = chooseMethod({
      cost: close,
      rates: rates({ acceptance: 0.999 }),
      speculation: true,
      routing: "no router",
      threshold: 0.3,
      draftTokens: 4,
    });
    assert.equal(c.policy, "target", c.reason);
  });

  it("has the expected shape: tokens per round, and routing at the extremes", () => {
    assert.ok(Math.abs(tokensPerRound(0, 8) - 1) < 1e-12);
    assert.ok(Math.abs(tokensPerRound(0.5, 1) - 1.5) < 1e-12);
    // Every step to the target: the draft's work, the router and the read-back come on top of the target's.
    assert.ok(routedMsPerToken(qwen2, 0, 32, 1) > 38.2 + 26.5);
    // Every step kept: the draft's decode plus the target's batch rate.
    assert.ok(Math.abs(routedMsPerToken(qwen2, 1, 32, 0) - (26.5 + 14)) < 1e-9);
  });
});

describe("policy auto on the embedded pair", () => {
  const engine = sharedEngine();

  it("says what it chose and why, with the costs it measured", async () => {
    const r = await engine().reason("(12+7)*3-5");
    const choice = r.stats.choice;
    assert.ok(choice, "an auto run carries its choice");
    assert.match(choice.reason, /^auto chose /);
    const costs = r.stats.callCosts!;
    assert.ok(costs.draft!.decodeMs > 0 && costs.target!.decodeMs > costs.draft!.decodeMs, JSON.stringify(costs));
    // The method run is the one predicted fastest, and it is predicted clearly faster than the target alone.
    const predicted = choice.predictedMsPerToken;
    if (r.policy !== "target") assert.ok(predicted[r.policy as "arbitrage" | "speculative"]! <= CHOICE_MARGIN * predicted.target!, choice.reason);
    // On this pair the target costs several times the draft per token and the router is fitted: it routes.
    assert.equal(r.policy, "arbitrage", choice.reason);
    assert.equal(r.answer, "52");
  });

  it("a named policy runs as named, with no choice", async () => {
    const r = await engine().reason("(12+7)*3-5", { policy: "target" });
    assert.equal(r.policy, "target");
    assert.equal(r.stats.choice, undefined);
  });
});

describe("cost model: a run's time from its token counts, and a projection", () => {
  const costs = { draft: { decodeMs: 10, batchTokenMs: 2 }, target: { decodeMs: 30, batchTokenMs: 5 } };

  it("charges each sampled token a decode and each other evaluated token a batch token", () => {
    const run = { meters: { draft: { generated: 20, evaluated: 50 }, target: { generated: 4, evaluated: 60 } }, judgeMs: 7 };
    assert.equal(predictRunMs(run, costs), 7 + 20 * 10 + 30 * 2 + 4 * 30 + 56 * 5);
    const targetOnly = { meters: { draft: { generated: 0, evaluated: 0 }, target: { generated: 10, evaluated: 40 } }, judgeMs: 0 };
    assert.equal(predictRunMs(targetOnly, { target: costs.target }), 10 * 30 + 30 * 5, "an idle model needs no cost");
    assert.equal(predictRunMs(run, { target: costs.target }), null, "a model that worked without a cost: no prediction");
  });

  it("projects the target as a multiple of the draft, batches as a share of a decode", () => {
    const p = projectedCosts(costs, PAPER_PROJECTION.ratio, PAPER_PROJECTION.batchShare)!;
    assert.equal(p.target!.decodeMs, 45);
    assert.ok(Math.abs(p.target!.batchTokenMs - 2.25) < 1e-12 && Math.abs(p.draft!.batchTokenMs - 0.5) < 1e-12);
    assert.equal(projectedCosts({ target: costs.target }, 4.5, 0.05), null);
  });
});
